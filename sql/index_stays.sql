-- The readmission task's index stays, the utilisation features known at
-- their discharge and their 30-day readmission label, derived from ingest's
-- OMOP CDM database (cdm.sqlite), one row per index discharge in the order
-- of analysis.csv. tests/it/cdm.rs checks that it agrees row for row with
-- the analysis table ingest writes itself.
--
-- An index stay is an inpatient visit (concept 9201), discharged (a stay
-- still open at the extraction has no visit_end_datetime), alive, whose 30
-- days after discharge the data covers. It is a readmission when another
-- inpatient visit of the person starts after the discharge and within 30
-- days of it. Earlier stays are the person's other inpatient visits
-- discharged by this admission: prior_admissions_365d counts those admitted
-- in the 365 days before it, days_since_last_discharge measures from the
-- latest discharge among them (null when there is none). Durations are in
-- days of whole minutes, rounded to 4 decimals, computed as the analysis
-- table computes them (seconds since 1970 are exact integers).
--
-- Parameter :data_end is the end of the data, 'YYYY-MM-DD HH:MM:SS' (ingest
-- writes it to quality.json as data_end).
SELECT v.visit_source_value    AS stay_id,
       p.person_source_value   AS patient_id,
       v.visit_start_datetime  AS admit_time,
       v.visit_end_datetime    AS discharge_time,
       round((strftime('%s', v.visit_end_datetime) - strftime('%s', v.visit_start_datetime))
             / 60 / 1440.0 * 10000) / 10000 AS los_days,
       (SELECT COUNT(*)
        FROM visit_occurrence e
        WHERE e.person_id = v.person_id
          AND e.visit_occurrence_id <> v.visit_occurrence_id
          AND e.visit_concept_id = 9201
          AND e.visit_end_datetime <= v.visit_start_datetime
          AND e.visit_start_datetime >= datetime(v.visit_start_datetime, '-365 days')
       )                        AS prior_admissions_365d,
       (SELECT round((strftime('%s', v.visit_start_datetime) - strftime('%s', MAX(e.visit_end_datetime)))
                     / 60 / 1440.0 * 10000) / 10000
        FROM visit_occurrence e
        WHERE e.person_id = v.person_id
          AND e.visit_occurrence_id <> v.visit_occurrence_id
          AND e.visit_concept_id = 9201
          AND e.visit_end_datetime <= v.visit_start_datetime
       )                        AS days_since_last_discharge,
       EXISTS (
         SELECT 1
         FROM visit_occurrence r
         WHERE r.person_id = v.person_id
           AND r.visit_occurrence_id <> v.visit_occurrence_id
           AND r.visit_concept_id = 9201
           AND r.visit_start_datetime > v.visit_end_datetime
           AND r.visit_start_datetime <= datetime(v.visit_end_datetime, '+30 days')
       )                        AS readmit_30d
FROM visit_occurrence v
JOIN person p ON p.person_id = v.person_id
WHERE v.visit_concept_id = 9201
  AND v.visit_end_datetime IS NOT NULL
  AND COALESCE(v.discharged_to_source_value, '') <> 'expired'
  AND datetime(v.visit_end_datetime, '+30 days') <= :data_end
ORDER BY p.person_source_value, v.visit_end_datetime, v.visit_source_value;
