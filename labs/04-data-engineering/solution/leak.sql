-- Lab 04: reference query. Every visit it counts starts after the
-- discharge: at the moment a model would score this stay, none of them
-- has happened. An inpatient one among them is the label itself.
SELECT v.visit_source_value    AS stay_id,
       (SELECT COUNT(*)
          FROM visit_occurrence r
         WHERE r.person_id = v.person_id
           AND r.visit_occurrence_id <> v.visit_occurrence_id
           AND r.visit_start_datetime > v.visit_end_datetime
           AND r.visit_start_datetime <= datetime(v.visit_end_datetime, '+30 days')
       )                        AS visits_30d_after
FROM visit_occurrence v
WHERE v.visit_concept_id = 9201;
