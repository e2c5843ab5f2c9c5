"""DuckDB's side of scripts/bench-ingest.sh: load the six records-schema CSV
tables of a generated population into a DuckDB database file and build a
stay-level table from them (each inpatient stay with its patient, the last
value of every lab and vital of the stay, its medication orders, the
patient's chronic conditions and the next admission), written as Parquet:
the load-and-transform a data engineer would write instead of `carelab
ingest`. It checks nothing, links nothing and writes no CDM; it is the
floor to compare with, not the same work.

    python bench-ingest-duckdb.py DATA_DIR OUT_DIR

Prints one line: `duckdb stays=N seconds=S`.
"""

import os
import sys
import time

import duckdb

TABLES = ["patients", "encounters", "observations", "conditions", "medications", "notes"]


def main() -> None:
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    db = duckdb.connect(os.path.join(out, "stays.duckdb"))
    for t in TABLES:
        path = os.path.join(data, f"{t}.csv")
        db.execute(f"CREATE OR REPLACE TABLE {t} AS SELECT * FROM read_csv('{path}', header = true)")
    db.execute(
        """
        CREATE OR REPLACE TABLE stays AS
        WITH last_value AS (
            SELECT encounter_id, code, arg_max(value, time) AS value
            FROM observations GROUP BY encounter_id, code
        ),
        labs AS (PIVOT last_value ON code USING first(value) GROUP BY encounter_id),
        meds AS (
            SELECT encounter_id, count(*) AS medication_orders,
                   count(DISTINCT rxnorm) AS distinct_drugs
            FROM medications GROUP BY encounter_id
        ),
        chronic AS (
            SELECT patient_id, count(*) AS chronic_conditions
            FROM conditions GROUP BY patient_id
        ),
        admissions AS (
            SELECT encounter_id,
                   lead(admit_time) OVER (PARTITION BY patient_id ORDER BY admit_time)
                       AS next_admit_time
            FROM encounters WHERE class = 'IMP'
        )
        SELECT e.encounter_id AS stay_id, e.patient_id, e.admit_time, e.discharge_time,
               p.sex, p.birth_date, p.payer,
               coalesce(c.chronic_conditions, 0) AS chronic_conditions,
               coalesce(m.medication_orders, 0) AS medication_orders,
               coalesce(m.distinct_drugs, 0) AS distinct_drugs,
               a.next_admit_time,
               coalesce(a.next_admit_time <= e.discharge_time + INTERVAL 30 DAY, false)
                   AS readmit_30d,
               l.*
        FROM encounters e
        JOIN patients p USING (patient_id)
        JOIN admissions a USING (encounter_id)
        LEFT JOIN chronic c USING (patient_id)
        LEFT JOIN meds m USING (encounter_id)
        LEFT JOIN labs l USING (encounter_id)
        WHERE e.discharge_time IS NOT NULL
        ORDER BY e.patient_id, e.discharge_time, e.encounter_id
        """
    )
    db.execute(f"COPY stays TO '{os.path.join(out, 'stays.parquet')}' (FORMAT parquet)")
    n = db.execute("SELECT count(*) FROM stays").fetchone()[0]
    db.close()
    print(f"duckdb stays={n} seconds={time.perf_counter() - start:.2f}")


if __name__ == "__main__":
    main()
