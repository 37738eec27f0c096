#[anyrt::test(flavor = "current_thread")]
async fn with_args<R: anyrt::Runtime>(rt: R) {
    let _ = rt;
}

fn main() {}
