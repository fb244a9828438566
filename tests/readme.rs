//! The README's compile-error example is the message a user really sees: the block must equal
//! the `.stderr` file that trybuild checks for `tests/ui/02`.

#[test]
fn readme_error_example_matches_ui_case_02() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```text\nerror: ")
        .expect("the README shows a compile error in a ```text block")
        + "```text\n".len();
    let len = readme[start..].find("```").expect("the block is closed");
    let stderr = include_str!("ui/02-pool-leaves-empty-output.stderr");
    assert_eq!(readme[start..start + len].trim_end(), stderr.trim_end());
}
