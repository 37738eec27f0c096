//! Misuse of `#[anyrt::test]` and `#[anyrt::main]` gives a clear compile error, and the
//! bounds generic code relies on hold (`tests/ui-pass`).

#[test]
fn macro_misuse_is_reported() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    // And what must compile does.
    t.pass("tests/ui-pass/*.rs");
}
