//! Columns that fit the terminal, narrowest first: each column has the width its widest
//! cell in view needs and a rank; when they do not fit, the lowest-ranked columns go first,
//! and only when the rest still do not fit does the name column shrink — cut in the
//! middle, so `user-info-grpc` and `user-info-worker` stay two different names.

/// One column: the width its cells need and whether it may be dropped (and in which
/// order: lower `drop_rank` goes first; `None` is never dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub need: u16,
    pub drop_rank: Option<u8>,
    /// The column that shrinks (with a middle ellipsis) when dropping is not enough.
    pub shrinks: bool,
    /// The narrowest a shrinking column gets.
    pub min: u16,
}

impl Column {
    /// A column that is never dropped and never shrinks.
    pub fn fixed(need: u16) -> Column {
        Column {
            need,
            drop_rank: None,
            shrinks: false,
            min: need,
        }
    }
}

/// The width of each column (`None`: dropped) for `total` cells of width and `spacing`
/// between kept columns.
pub fn fit(columns: &[Column], total: u16, spacing: u16) -> Vec<Option<u16>> {
    let mut kept: Vec<bool> = vec![true; columns.len()];
    let used = |kept: &[bool]| -> u32 {
        let n = kept.iter().filter(|k| **k).count() as u32;
        let widths: u32 = columns
            .iter()
            .zip(kept)
            .filter(|(_, k)| **k)
            .map(|(c, _)| u32::from(c.need))
            .sum();
        widths + n.saturating_sub(1) * u32::from(spacing)
    };
    let mut order: Vec<(u8, usize)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.drop_rank.map(|r| (r, i)))
        .collect();
    order.sort();
    for (_, i) in order {
        if used(&kept) <= u32::from(total) {
            break;
        }
        kept[i] = false;
    }
    let over = used(&kept).saturating_sub(u32::from(total));
    columns
        .iter()
        .zip(&kept)
        .map(|(c, k)| {
            if !k {
                return None;
            }
            if c.shrinks && over > 0 {
                let w = u32::from(c.need).saturating_sub(over).max(u32::from(c.min));
                return Some(w as u16);
            }
            Some(c.need)
        })
        .collect()
}

/// The items of the columns `fit` kept, in order.
pub fn kept<T>(items: impl IntoIterator<Item = T>, widths: &[Option<u16>]) -> Vec<T> {
    items
        .into_iter()
        .zip(widths)
        .filter(|(_, w)| w.is_some())
        .map(|(item, _)| item)
        .collect()
}

/// Table constraints for the kept columns, the last taking what is left (the message or
/// reason column, whose text is the longest and least worth a fixed width).
pub fn constraints(widths: &[Option<u16>]) -> Vec<ratatui::layout::Constraint> {
    use ratatui::layout::Constraint;
    let mut constraints: Vec<Constraint> = widths
        .iter()
        .flatten()
        .map(|w| Constraint::Length(*w))
        .collect();
    if let Some(last) = constraints.last_mut() {
        *last = Constraint::Fill(1);
    }
    constraints
}

/// What is left for the last kept column when it takes the rest of `total`.
pub fn rest(widths: &[Option<u16>], total: u16, spacing: u16) -> usize {
    let kept: Vec<u16> = widths.iter().flatten().copied().collect();
    let others: usize = kept.iter().rev().skip(1).map(|w| usize::from(*w)).sum();
    let gaps = kept.len().saturating_sub(1) * usize::from(spacing);
    usize::from(total).saturating_sub(others + gaps)
}

/// The width the widest of `items`' cells needs, and at least the column's title.
pub fn widest<T>(items: &[T], title: &str, cell: impl Fn(&T) -> String) -> u16 {
    items
        .iter()
        .map(|i| width_of(&cell(i)))
        .max()
        .unwrap_or(0)
        .max(width_of(title))
}

/// The width of `text` in cells, as the columns count it.
pub fn width_of(text: &str) -> u16 {
    u16::try_from(text.chars().count()).unwrap_or(u16::MAX)
}

/// `text` in at most `width` characters, cut in the middle with `…` when longer.
pub fn middle(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let keep = width - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// Free text in at most `width` characters: whole words and `…` when it is longer, so
/// the end of a cell never reads as a word it is not.
pub fn end(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let room = width - 1;
    let head: String = text.chars().take(room + 1).collect();
    // Break after the last space that leaves at least a word; a single long word is cut.
    let cut = match head.rfind(' ') {
        Some(i) if i > 0 && head[..i].chars().count() <= room => i,
        _ => head.char_indices().nth(room).map_or(head.len(), |(i, _)| i),
    };
    format!("{}…", head[..cut].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(need: u16, rank: Option<u8>) -> Column {
        Column {
            need,
            drop_rank: rank,
            shrinks: false,
            min: need,
        }
    }

    #[test]
    fn low_ranked_columns_go_before_the_name_shrinks() {
        let name = Column {
            need: 20,
            drop_rank: None,
            shrinks: true,
            min: 8,
        };
        let cols = [name, col(10, Some(2)), col(10, Some(1)), col(5, None)];
        assert_eq!(fit(&cols, 60, 1), [Some(20), Some(10), Some(10), Some(5)]);
        // 48 needed: the first to go is rank 1.
        assert_eq!(fit(&cols, 40, 1), [Some(20), Some(10), None, Some(5)]);
        assert_eq!(fit(&cols, 26, 1), [Some(20), None, None, Some(5)]);
        // Nothing left to drop: the name shrinks, not below its minimum.
        assert_eq!(fit(&cols, 20, 1), [Some(14), None, None, Some(5)]);
        assert_eq!(fit(&cols, 5, 1), [Some(8), None, None, Some(5)]);
    }

    #[test]
    fn names_are_cut_in_the_middle_and_stay_apart() {
        assert_eq!(middle("user-info-grpc", 10), "user-…grpc");
        assert_eq!(middle("user-info-worker", 10), "user-…rker");
        assert_eq!(middle("web", 10), "web");
        assert_eq!(middle("abcdef", 1), "…");
    }

    #[test]
    fn free_text_ends_on_a_whole_word() {
        let msg = "Back-off restarting failed container app";
        assert_eq!(end(msg, 30), "Back-off restarting failed…");
        assert_eq!(end(msg, 100), msg);
        assert_eq!(end("supercalifragilistic", 8), "superca…");
        assert_eq!(end("a b", 0), "");
    }
}
