//! QR codes for TOTP enrolment, rendered as a self-contained SVG.

use std::fmt::Write as _;

use qrcodegen::{QrCode, QrCodeEcc};

use crate::AuthError;

/// Light modules around the symbol, as the QR specification requires.
const QUIET_ZONE: i32 = 4;
/// Pixels per module in the SVG's intrinsic size; it scales freely through its `viewBox`.
const PIXELS_PER_MODULE: i32 = 4;

/// An SVG of `text` as a QR code (error correction level M).
///
/// One `<rect>` for the white background (quiet zone included) and one `<path>` for the dark
/// modules, coloured through `fill` attributes: no script, no `style`, nothing a strict
/// Content-Security-Policy would block. One unit of the `viewBox` is one module, and
/// `shape-rendering="crispEdges"` keeps the modules sharp at any scale.
pub fn qr_svg(text: &str) -> Result<String, AuthError> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|_| AuthError::QrTooLong { len: text.len() })?;
    let size = qr.size();
    let total = size + 2 * QUIET_ZONE;
    let pixels = total * PIXELS_PER_MODULE;

    let mut path = String::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !qr.get_module(x, y) {
                x += 1;
                continue;
            }
            // A horizontal run of dark modules becomes one rectangle of unit height.
            let start = x;
            while x < size && qr.get_module(x, y) {
                x += 1;
            }
            let _ = write!(
                path,
                "M{},{}h{}v1h-{}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE,
                x - start,
                x - start
            );
        }
    }

    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
         width=\"{pixels}\" height=\"{pixels}\" viewBox=\"0 0 {total} {total}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"qr code\">\
         <rect width=\"{total}\" height=\"{total}\" fill=\"#ffffff\"/>\
         <path d=\"{path}\" fill=\"#000000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the dark modules back out of the path, to compare with the encoder's matrix.
    fn dark_modules(svg: &str) -> Vec<(i32, i32)> {
        let d = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        let mut out = Vec::new();
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (xy, rest) = run.split_once('h').unwrap();
            let (x, y) = xy.split_once(',').unwrap();
            let len: i32 = rest.split('v').next().unwrap().parse().unwrap();
            let (x, y): (i32, i32) = (x.parse().unwrap(), y.parse().unwrap());
            out.extend((x..x + len).map(|x| (x, y)));
        }
        out
    }

    #[test]
    fn path_reproduces_the_matrix_inside_the_quiet_zone() {
        let text = "otpauth://totp/Steward:alice%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Steward";
        let svg = qr_svg(text).unwrap();
        let qr = QrCode::encode_text(text, QrCodeEcc::Medium).unwrap();
        let mut expected = Vec::new();
        for y in 0..qr.size() {
            for x in 0..qr.size() {
                if qr.get_module(x, y) {
                    expected.push((x + QUIET_ZONE, y + QUIET_ZONE));
                }
            }
        }
        assert_eq!(dark_modules(&svg), expected);
        let total = qr.size() + 8;
        assert!(svg.contains(&format!("viewBox=\"0 0 {total} {total}\"")));
    }
}
