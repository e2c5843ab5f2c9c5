-- Lab 04: reference query (the label of sql/index_stays.sql).
SELECT v.visit_source_value    AS stay_id,
       p.person_source_value   AS patient_id,
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
  AND datetime(v.visit_end_datetime, '+30 days') <= datetime(:data_end)
ORDER BY p.person_source_value, v.visit_end_datetime, v.visit_source_value;
