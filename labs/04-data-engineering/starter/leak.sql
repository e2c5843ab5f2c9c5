-- Lab 04: a feature that leaks, built on purpose.
--
-- A colleague proposes a feature: "follow-up visits in the month after
-- discharge: patients who keep coming back are the sick ones". Build it
-- from the OMOP CDM database (clean/cdm.sqlite), then train with it:
--
--   carelab train --data clean/analysis.csv --model logreg --epochs 50 \
--     --lr 0.1 --seed 1 --features-sql leak.sql --name leaky
--
-- `--features-sql` runs this query on cdm.sqlite beside the table and adds
-- every column but stay_id as a feature, joined on stay_id. Keep the
-- column's name: the lab's checks look for visits_30d_after.
SELECT v.visit_source_value    AS stay_id,
       -- TODO: the number of the same person's visits, of any kind, that
       -- start after this discharge and within 30 days of it.
       NULL                    AS visits_30d_after
FROM visit_occurrence v
WHERE v.visit_concept_id = 9201;
