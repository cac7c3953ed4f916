//! Fixed-size VHD disk images: the raw bytes, then the 512-byte footer that makes Hyper-V
//! (and QEMU's `vpc` driver) take them as a disk. Hyper-V attaches no raw image, so a
//! Hyper-V machine's provisioning seed disk is written in this form.

use sha2::{Digest, Sha256};

const SECTOR: u64 = 512;
/// The smallest disk Hyper-V makes; seeds are padded up to it.
const MIN_SIZE: u64 = 3 << 20;
/// Sectors per track, heads: the geometry every disk under about 142 MB gets.
const SMALL_GEOMETRY: (u64, u64) = (17, 4);

/// The cylinders, heads and sectors per track the VHD format gives a disk of `sectors`.
fn geometry(sectors: u64) -> (u16, u8, u8) {
    let total = sectors.min(65535 * 16 * 255);
    let (spt, heads, cth) = if total >= 65535 * 16 * 63 {
        (255, 16, total / 255)
    } else {
        let mut spt = 17;
        let mut cth = total / spt;
        let mut heads = cth.div_ceil(1024).max(4);
        if cth >= heads * 1024 || heads > 16 {
            spt = 31;
            heads = 16;
            cth = total / spt;
        }
        if cth >= heads * 1024 {
            spt = 63;
            heads = 16;
            cth = total / spt;
        }
        (spt, heads, cth)
    };
    ((cth / heads) as u16, heads as u8, spt as u8)
}

/// The footer of a fixed disk of `size` bytes; `id` becomes its unique id.
fn footer(size: u64, id: [u8; 16]) -> [u8; 512] {
    let mut f = [0u8; 512];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // format 1.0
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // no dynamic header
    f[28..32].copy_from_slice(b"brth");
    f[32..36].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    f[36..40].copy_from_slice(b"Wi2k");
    f[40..48].copy_from_slice(&size.to_be_bytes());
    f[48..56].copy_from_slice(&size.to_be_bytes());
    let (cylinders, heads, spt) = geometry(size / SECTOR);
    f[56..58].copy_from_slice(&cylinders.to_be_bytes());
    f[58] = heads;
    f[59] = spt;
    f[60..64].copy_from_slice(&2u32.to_be_bytes()); // fixed
    f[68..84].copy_from_slice(&id);
    let sum = f.iter().fold(0u32, |s, &b| s.wrapping_add(u32::from(b)));
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}

/// `data` as a fixed VHD: padded with zeros to at least 3 MiB and to whole cylinders
/// (so the size its geometry gives is its size), then the footer. The unique id comes
/// from the content, so the same data makes the same image.
pub fn fixed(data: &[u8]) -> Vec<u8> {
    let cylinder = SMALL_GEOMETRY.0 * SMALL_GEOMETRY.1 * SECTOR;
    let mut size = (data.len() as u64).max(MIN_SIZE).div_ceil(cylinder) * cylinder;
    // Past the small geometry, whole sectors do (qemu and Hyper-V read the size field).
    if size / SECTOR >= 4 * 1024 * SMALL_GEOMETRY.0 {
        size = (data.len() as u64).div_ceil(SECTOR) * SECTOR;
    }
    let digest = Sha256::digest(data);
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    let mut out = Vec::with_capacity(size as usize + 512);
    out.extend_from_slice(data);
    out.resize(size as usize, 0);
    out.extend_from_slice(&footer(size, id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn geometry_follows_the_format() {
        // 3 MiB rounded to whole cylinders of 4 heads × 17 sectors.
        assert_eq!(geometry(6188), (91, 4, 17));
        // 127 GiB: the largest geometry.
        assert_eq!(geometry(127 << 21), (65278, 16, 255));
        // 1 GiB.
        assert_eq!(geometry(1 << 21), (2080, 16, 63));
    }

    #[test]
    fn the_footer_sums_and_describes_a_fixed_disk() {
        let image = fixed(b"seed bytes");
        let size = image.len() as u64 - 512;
        assert_eq!(size, 6188 * 512, "3 MiB to whole cylinders");
        assert_eq!(&image[..10], b"seed bytes");
        let f = &image[image.len() - 512..];
        assert_eq!(&f[..8], b"conectix");
        assert_eq!(
            u64::from_be_bytes(f[48..56].try_into().expect("4 or 8 bytes")),
            size
        );
        assert_eq!(
            u32::from_be_bytes(f[60..64].try_into().expect("4 or 8 bytes")),
            2
        );
        let stored = u32::from_be_bytes(f[64..68].try_into().expect("4 or 8 bytes"));
        let mut zeroed = f.to_vec();
        zeroed[64..68].fill(0);
        let sum = zeroed
            .iter()
            .fold(0u32, |s, &b| s.wrapping_add(u32::from(b)));
        assert_eq!(stored, !sum);
        assert_eq!(fixed(b"seed bytes"), image, "the same data, the same image");
        assert_ne!(
            &fixed(b"other")[image.len() - 444..],
            &f[68..],
            "another id"
        );
    }

    /// QEMU's own reader takes the image as a VHD of the right size (told the format: a
    /// fixed VHD starts with its data, so nothing tells it from a raw disk but the
    /// footer), and gives the data back.
    #[test]
    fn qemu_img_reads_it_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seed = berth_types::machine::Provision::default().seed_disk();
        let vhd = dir.path().join("seed.vhd");
        std::fs::write(&vhd, fixed(&seed)).expect("write");
        let info = Command::new("qemu-img")
            .args(["info", "-f", "vpc", "--output", "json"])
            .arg(&vhd)
            .output()
            .expect("qemu-img (qemu-utils) runs");
        assert!(info.status.success(), "{info:?}");
        let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("json");
        assert_eq!(info["format"], "vpc");
        assert_eq!(info["virtual-size"], 6188 * 512);
        let raw = dir.path().join("seed.raw");
        let convert = Command::new("qemu-img")
            .args(["convert", "-f", "vpc", "-O", "raw"])
            .arg(&vhd)
            .arg(&raw)
            .status()
            .expect("qemu-img convert");
        assert!(convert.success());
        let back = std::fs::read(&raw).expect("read");
        assert_eq!(
            berth_types::machine::Provision::from_seed(&back),
            Some(berth_types::machine::Provision::default())
        );
    }
}
