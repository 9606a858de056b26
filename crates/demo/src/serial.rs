//! Serial numbers that look like the manufacturers' and are unique by construction.
//!
//! Each asset gets a distinct counter; a keyed permutation of that counter (a bijection, so no two
//! counters collide) is printed in the manufacturer's shape. Shapes differ in length or in a fixed
//! leading character, so two shapes never print the same string.

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How a manufacturer prints its serial numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SerialShape {
    /// Microsoft Surface: twelve digits.
    Surface,
    /// Dell service tag: seven characters.
    DellTag,
    /// Lenovo: `PF` and six characters.
    Lenovo,
    /// HP: `5CG` and seven characters.
    Hp,
    /// Apple: a location letter and eleven characters.
    Apple,
    /// Samsung: `R5` and nine characters.
    Samsung,
    /// A handset's IMEI: fifteen digits.
    Imei,
    /// A UK SIM's ICCID: `8944` and fifteen digits.
    Iccid,
    /// Kingston IronKey: `IK` and ten digits.
    Kingston,
    /// Integral: `INT` and nine digits.
    Integral,
    /// SanDisk: `BL` and ten digits.
    SanDisk,
    /// Peripherals: `PX` and ten characters.
    Peripheral,
}

/// A bijection on `bits`-bit numbers, keyed by `key`.
fn permute(mut x: u64, bits: u32, key: u64) -> u64 {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let shift = (bits / 2).max(1);
    x &= mask;
    for round in 0..3u64 {
        let k = key.rotate_left(round as u32 * 21);
        x = x.wrapping_add(k) & mask;
        x = x.wrapping_mul((0x9E37_79B9_7F4A_7C15 ^ (k << 1)) | 1) & mask;
        x ^= x >> shift;
    }
    x
}

/// A bijection on `0..n` (cycle-walking over the smallest power of two that holds `n`).
fn permute_below(x: u64, n: u64, key: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    let bits = 64 - (n - 1).leading_zeros();
    let mut y = permute(x % n, bits, key);
    // The cycle through `x` returns to `x`, which is below `n`, so this ends; half the domain at
    // least is below `n`, so it ends quickly.
    while y >= n {
        y = permute(y, bits, key);
    }
    y
}

fn digits(counter: u64, width: u32, key: u64, out: &mut String) {
    let n = 10u64.pow(width);
    let v = permute_below(counter, n, key);
    out.push_str(&format!("{v:0width$}", width = width as usize));
}

fn crockford(counter: u64, width: u32, key: u64, out: &mut String) {
    let v = permute(counter, width * 5, key);
    for i in (0..width).rev() {
        out.push(CROCKFORD[((v >> (i * 5)) & 31) as usize] as char);
    }
}

/// The serial number of the asset with this counter. `key` comes from the seed; `flavour` varies
/// the cosmetic parts (such as Apple's location letter) without affecting uniqueness.
pub(crate) fn serial(shape: SerialShape, counter: u64, key: u64, flavour: u64) -> String {
    let mut out = String::with_capacity(20);
    match shape {
        SerialShape::Surface => digits(counter, 12, key, &mut out),
        SerialShape::DellTag => crockford(counter, 7, key, &mut out),
        SerialShape::Lenovo => {
            out.push_str("PF");
            crockford(counter, 6, key, &mut out);
        }
        SerialShape::Hp => {
            out.push_str("5CG");
            crockford(counter, 7, key, &mut out);
        }
        SerialShape::Apple => {
            out.push(['F', 'G', 'D', 'C'][(flavour % 4) as usize]);
            crockford(counter, 11, key, &mut out);
        }
        SerialShape::Samsung => {
            out.push_str("R5");
            crockford(counter, 9, key, &mut out);
        }
        SerialShape::Imei => digits(counter, 15, key, &mut out),
        SerialShape::Iccid => {
            out.push_str("8944");
            digits(counter, 15, key, &mut out);
        }
        SerialShape::Kingston => {
            out.push_str("IK");
            digits(counter, 10, key, &mut out);
        }
        SerialShape::Integral => {
            out.push_str("INT");
            digits(counter, 9, key, &mut out);
        }
        SerialShape::SanDisk => {
            out.push_str("BL");
            digits(counter, 10, key, &mut out);
        }
        SerialShape::Peripheral => {
            out.push_str("PX");
            crockford(counter, 10, key, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_bijections() {
        for n in [1u64, 2, 3, 10, 1000, 1024, 1025] {
            let mut seen = vec![false; n as usize];
            for x in 0..n {
                let y = permute_below(x, n, 0xABCD);
                assert!(y < n);
                assert!(!seen[y as usize], "n={n} x={x}");
                seen[y as usize] = true;
            }
        }
    }

    #[test]
    fn serials_have_their_shapes_and_do_not_repeat() {
        let mut all = Vec::new();
        for shape in [
            SerialShape::Surface,
            SerialShape::Apple,
            SerialShape::Iccid,
            SerialShape::Integral,
        ] {
            for c in 0..2000 {
                all.push(serial(shape, c, 42, c));
            }
        }
        assert_eq!(serial(SerialShape::Surface, 5, 42, 0).len(), 12);
        assert!(serial(SerialShape::Iccid, 5, 42, 0).starts_with("8944"));
        assert_eq!(serial(SerialShape::Iccid, 5, 42, 0).len(), 19);
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count);
    }
}
