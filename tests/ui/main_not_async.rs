#[anyrt::main]
fn main() {}
