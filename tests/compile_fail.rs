//! Misuse of `#[anyrt::test]` and `#[anyrt::main]` gives a clear compile error.

#[test]
fn macro_misuse_is_reported() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
