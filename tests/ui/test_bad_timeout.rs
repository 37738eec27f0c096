#[anyrt::test(timeout = "ten seconds")]
async fn bad_timeout<R: anyrt::Runtime>(rt: R) {
    let _ = rt;
}

fn main() {}
