#[anyrt::test]
async fn no_runtime<R: anyrt::Runtime>() {}

fn main() {}
