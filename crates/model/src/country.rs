//! Countries, as ISO 3166-1 alpha-2 codes: where a device was seen, where a trip goes.

use std::fmt;
use std::str::FromStr;

/// Every officially assigned ISO 3166-1 alpha-2 code (249), in order. User-assigned codes such as
/// `XK` and exceptionally reserved ones such as `UK` and `EU` are not countries here.
pub const COUNTRY_CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// One officially assigned country code, in capitals. `GB` is home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

impl Country {
    /// The United Kingdom of Great Britain and Northern Ireland: home.
    pub const GB: Country = Country(*b"GB");

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Country {
    type Err = String;

    /// Two letters, either case, naming an officially assigned code.
    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let [a, b] = bytes else {
            return Err("expected an ISO 3166-1 alpha-2 country code such as GB".into());
        };
        if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() {
            return Err("expected an ISO 3166-1 alpha-2 country code such as GB".into());
        }
        let code = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
        let upper = std::str::from_utf8(&code).unwrap_or("");
        if COUNTRY_CODES.binary_search(&upper).is_ok() {
            Ok(Country(code))
        } else if upper == "UK" {
            Err("not an ISO 3166-1 country code: the United Kingdom is GB".into())
        } else {
            Err("not an officially assigned ISO 3166-1 alpha-2 country code".into())
        }
    }
}

/// One or more countries in order, such as a trip's destinations with the countries passed
/// through on the way. Written `;`-separated without spaces (`AE;IN`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Countries(Vec<Country>);

impl Countries {
    /// `None` for an empty list: a trip goes somewhere.
    pub fn new(countries: Vec<Country>) -> Option<Countries> {
        (!countries.is_empty()).then_some(Countries(countries))
    }

    pub fn as_slice(&self) -> &[Country] {
        &self.0
    }

    pub fn contains(&self, country: Country) -> bool {
        self.0.contains(&country)
    }
}

impl fmt::Display for Countries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(c.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for Countries {
    type Err = String;

    /// Codes separated by `;`, each trimmed and in either case; at least one, none empty.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for (i, part) in text.split(';').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!(
                    "country {} of the list is empty: expected codes separated by ; such as FR;BE",
                    i + 1
                ));
            }
            let country = part
                .parse::<Country>()
                .map_err(|e| format!("{part}: {e}"))?;
            out.push(country);
        }
        Countries::new(out).ok_or_else(|| "expected at least one country code".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_unique_and_complete() {
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(
            COUNTRY_CODES
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        for code in ["GB", "IE", "FR", "US", "AX", "SS", "BQ", "CW", "SX", "ZW"] {
            assert!(code.parse::<Country>().is_ok(), "{code}");
        }
        for code in ["UK", "XK", "EU", "ZZ", "AN", "G", "GBR", "G1", "", "É"] {
            assert!(code.parse::<Country>().is_err(), "{code}");
        }
        assert_eq!("gb".parse::<Country>(), Ok(Country::GB));
    }

    #[test]
    fn lists_are_canonical_in_capitals_without_spaces_in_the_order_given() {
        let c: Countries = "ae; in ;AE".parse().unwrap();
        assert_eq!(c.to_string(), "AE;IN;AE");
        assert!(!c.contains(Country::GB));
        for bad in ["", ";", "FR;", ";FR", "FR;;BE", "FR;XX", "FR,BE"] {
            assert!(bad.parse::<Countries>().is_err(), "{bad:?}");
        }
        assert_eq!(Countries::new(Vec::new()), None);
    }
}
