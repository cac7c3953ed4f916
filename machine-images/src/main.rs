//! `berth-images`: builds Berth's guest OS images and publishes them as OCI artifacts.
//! Not implemented yet: the binary says so and exits non-zero.

fn main() {
    eprintln!("berth-images: building machine images is not implemented yet");
    std::process::exit(2);
}
