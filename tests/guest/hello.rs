// hello in Rust, built as a static-PIE with the Rust standard library.
fn main() {
    println!("hello from rust");
}
