-- Lab 04: the index stays and their 30-day readmission label, from the
-- OMOP CDM database ingest wrote (clean/cdm.sqlite). `carelab lab check 4`
-- runs this query and compares its rows, joined on stay_id, with
-- clean/analysis.csv (the table ingest built itself).
--
-- :data_end is bound by the check to the end of the data (data_end in
-- clean/quality.json). Try it yourself with sqlite3:
--   sqlite3 -header -csv clean/cdm.sqlite \
--     ".parameter set :data_end '2024-12-31 00:00:00'" ".read label.sql" | head
--
-- An index stay is an inpatient visit (visit_concept_id 9201), discharged,
-- alive, whose 30 days after discharge the data covers.
SELECT v.visit_source_value    AS stay_id,
       p.person_source_value   AS patient_id,
       -- TODO: readmit_30d is 1 when the same person has another inpatient
       -- visit that starts after this discharge and within 30 days of it,
       -- else 0. Only what happened after the discharge may go here.
       NULL                    AS readmit_30d
FROM visit_occurrence v
JOIN person p ON p.person_id = v.person_id
WHERE v.visit_concept_id = 9201
  AND v.visit_end_datetime IS NOT NULL
  AND COALESCE(v.discharged_to_source_value, '') <> 'expired'
  AND datetime(v.visit_end_datetime, '+30 days') <= datetime(:data_end)
ORDER BY p.person_source_value, v.visit_end_datetime, v.visit_source_value;
