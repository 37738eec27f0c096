#[anyrt::main(backend = 3)]
async fn main() {}
