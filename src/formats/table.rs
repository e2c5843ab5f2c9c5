//! Clean tables of `clinical::records` rows as CSV and Parquet.
