//! Column alignment equivalent to Go's `text/tabwriter` as Podman configures it in
//! `containers/common/pkg/report` (`NewWriter(w, 12, 2, 2, ' ', StripEscape)`): cells
//! end at `\t`, each column block (consecutive lines that have that cell) is padded
//! to its widest cell plus 2 and at least 12 characters, and the last cell of a line
//! is never padded. Widths count characters, like tabwriter counts runes.

/// Minimum column width, padding included (tabwriter `minwidth`).
const MIN_WIDTH: usize = 12;
/// Spaces added to the widest cell of a column (tabwriter `padding`).
const PADDING: usize = 2;

/// Aligns tab-separated cells of `text` into space-padded columns.
pub(crate) fn align(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|cells| vec![0; cells.len() - 1]).collect();
    // Lines that still have a tab-terminated cell in the current column, in order.
    let mut active: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].len() > 1).collect();
    let mut column = 0;
    while !active.is_empty() {
        let mut start = 0;
        while start < active.len() {
            let mut end = start + 1;
            while end < active.len() && active[end] == active[end - 1] + 1 {
                end += 1;
            }
            let block = &active[start..end];
            let width = block
                .iter()
                .map(|&i| lines[i][column].chars().count() + PADDING)
                .fold(MIN_WIDTH, usize::max);
            for &i in block {
                widths[i][column] = width;
            }
            start = end;
        }
        column += 1;
        active.retain(|&i| lines[i].len() > column + 1);
    }
    let mut out = String::with_capacity(text.len() * 2);
    for (n, (cells, widths)) in lines.iter().zip(&widths).enumerate() {
        if n > 0 {
            out.push('\n');
        }
        for (j, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if let Some(&w) = widths.get(j) {
                out.extend(std::iter::repeat_n(
                    ' ',
                    w.saturating_sub(cell.chars().count()),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::align;

    #[test]
    fn columns_pad_to_widest_cell_plus_two_with_minimum_twelve() {
        let text = "REPOSITORY\tTAG\tID\ndocker.io/library/alpine\t3.19\tabc\n";
        let expected = "REPOSITORY                TAG         ID\n\
                        docker.io/library/alpine  3.19        abc\n";
        assert_eq!(align(text), expected);
    }

    #[test]
    fn last_cell_is_not_padded_and_trailing_tab_pads_previous_cell() {
        assert_eq!(align("a\tb\n"), "a           b\n");
        assert_eq!(align("a\tb\t\n"), "a           b           \n");
    }

    #[test]
    fn a_line_without_the_column_starts_a_new_block() {
        let text = "aaaaaaaaaaaaaaaa\tx\nno tabs here\nb\ty";
        let expected = "aaaaaaaaaaaaaaaa  x\nno tabs here\nb           y";
        assert_eq!(align(text), expected);
    }

    #[test]
    fn inner_columns_form_blocks_within_outer_columns() {
        let text = "a\tb\tc\na\tb\na\tbbbbbbbbbbbbbbbb\tc";
        let expected = "a           b           c\n\
                        a           b\n\
                        a           bbbbbbbbbbbbbbbb  c";
        assert_eq!(align(text), expected);
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        assert_eq!(align("é\tx\nab\ty"), "é           x\nab          y");
    }
}
