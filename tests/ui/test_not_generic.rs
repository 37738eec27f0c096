#[anyrt::test]
async fn not_generic(rt: anyrt::Tokio) {
    let _ = rt;
}

fn main() {}
