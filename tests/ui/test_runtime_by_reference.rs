#[anyrt::test]
async fn by_reference<R: anyrt::Runtime>(rt: &R) {
    let _ = rt;
}

fn main() {}
