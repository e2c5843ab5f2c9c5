//! Rows a written table gives back for the next partition's table to fill.
//! Ingest makes its CDM tables once for each partition of persons,
//! hundreds of megabytes of rows; made in fresh memory each time, the
//! kernel cleared a page for every 4 KB of them (the allocator had given
//! the last partition's back). The CDM tables keep their emptied rows
//! here (the OMOP-like tables keep column buffers instead, `omop_like`).

/// Emptied rows, each keeping its capacity.
#[derive(Debug, Clone)]
pub struct RowPool<T>(Vec<Vec<T>>);

impl<T> Default for RowPool<T> {
    fn default() -> RowPool<T> {
        RowPool(Vec::new())
    }
}

impl<T> RowPool<T> {
    /// An empty row, in the memory of one given back where there is one.
    pub fn row(&mut self) -> Vec<T> {
        self.0.pop().unwrap_or_default()
    }

    /// Take every row of `rows`, emptied, leaving `rows` empty.
    pub fn give_back(&mut self, rows: &mut Vec<Vec<T>>) {
        for mut row in rows.drain(..) {
            row.clear();
            self.0.push(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_given_back_come_back_empty_with_their_memory() {
        let mut pool = RowPool::default();
        let mut rows = vec![vec![1u8; 100], vec![2; 10]];
        pool.give_back(&mut rows);
        assert!(rows.is_empty());
        let a = pool.row();
        assert!(a.is_empty() && a.capacity() >= 10);
        let b = pool.row();
        assert!(b.is_empty() && b.capacity() >= 100);
        assert_eq!(pool.row().capacity(), 0, "a new row once the pool is empty");
    }
}
