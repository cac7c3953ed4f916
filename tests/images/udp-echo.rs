//! `udp-echo [PORT]`: answers every UDP datagram sent to PORT (5353 if none), on any
//! address, with `echo ` and the datagram. berth-testimages builds it static with
//! rustc into the `udp-echo` test image: the images' busybox serves no UDP.

use std::net::UdpSocket;

fn main() {
    let port = std::env::args().nth(1).unwrap_or_else(|| "5353".into());
    let socket = match UdpSocket::bind(format!("0.0.0.0:{port}")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("udp-echo: binding udp port {port}: {e}");
            std::process::exit(1);
        }
    };
    println!("udp-echo: listening on udp port {port}");
    let mut buf = vec![0u8; 65536];
    buf[..5].copy_from_slice(b"echo ");
    loop {
        if let Ok((n, from)) = socket.recv_from(&mut buf[5..]) {
            let _ = socket.send_to(&buf[..5 + n], from);
        }
    }
}
