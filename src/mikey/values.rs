//! Registered values of MIKEY fields (the IANA "MIKEY Payload Name Spaces"), as `u8` newtypes
//! with named constants.
//!
//! A field is kept as its raw octet, so an unregistered value survives parse and encode
//! unchanged; the codec rejects a value only where it decides the layout of what follows
//! (CS ID map type, TS type, MAC algorithm, ...). `name()` gives the registered name.

use core::fmt;

macro_rules! registry {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $konst:ident = $value:literal, $label:literal, $cite:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u8);

        impl $name {
            $(
                #[doc = concat!($value, ": ", $label, " (", $cite, ").")]
                pub const $konst: Self = Self($value);
            )*

            /// The registered name of this value, or `None` for a value not known here.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($label), )*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{} ({})", self.0, n),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl From<u8> for $name {
            fn from(v: u8) -> Self {
                Self(v)
            }
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v.0
            }
        }
    };
}

registry! {
    /// Payload type numbers carried in the next-payload fields (RFC 3830 s6.1 table 6.1.c,
    /// RFC 6043 s6, RFC 6509 s4.2).
    PayloadType {
        LAST = 0, "Last payload", "RFC 3830 s6.1";
        KEMAC = 1, "KEMAC", "RFC 3830 s6.2";
        PKE = 2, "PKE", "RFC 3830 s6.3";
        DH = 3, "DH", "RFC 3830 s6.4";
        SIGN = 4, "SIGN", "RFC 3830 s6.5";
        T = 5, "T", "RFC 3830 s6.6";
        ID = 6, "ID", "RFC 3830 s6.7";
        CERT = 7, "CERT", "RFC 3830 s6.7";
        CHASH = 8, "CHASH", "RFC 3830 s6.8";
        V = 9, "V", "RFC 3830 s6.9";
        SP = 10, "SP", "RFC 3830 s6.10";
        RAND = 11, "RAND", "RFC 3830 s6.11";
        ERR = 12, "ERR", "RFC 3830 s6.12";
        TR = 13, "TR", "RFC 6043 s6";
        IDR = 14, "IDR", "RFC 6043 s6.6";
        RANDR = 15, "RANDR", "RFC 6043 s6";
        TP = 16, "TP", "RFC 6043 s6";
        TICKET = 17, "TICKET", "RFC 6043 s6";
        KEY_DATA = 20, "Key data", "RFC 3830 s6.13";
        GENERAL_EXTENSION = 21, "General Extension", "RFC 3830 s6.15";
        SAKKE = 26, "SAKKE", "RFC 6509 s4.2";
    }
}

registry! {
    /// HDR data type: the kind of message (RFC 3830 s6.1 table 6.1.a, RFC 6509 s4.1).
    DataType {
        PRE_SHARED = 0, "Pre-shared", "RFC 3830 s6.1";
        PSK_VER_MSG = 1, "PSK ver msg", "RFC 3830 s6.1";
        PUBLIC_KEY = 2, "Public key", "RFC 3830 s6.1";
        PK_VER_MSG = 3, "PK ver msg", "RFC 3830 s6.1";
        DH_INIT = 4, "D-H init", "RFC 3830 s6.1";
        DH_RESP = 5, "D-H resp", "RFC 3830 s6.1";
        ERROR = 6, "Error", "RFC 3830 s6.1";
        DHHMAC_INIT = 7, "DHHMAC init", "RFC 4650";
        DHHMAC_RESP = 8, "DHHMAC resp", "RFC 4650";
        RSA_R_INIT = 9, "RSA-R I_MSG", "RFC 4738";
        RSA_R_RESP = 10, "RSA-R R_MSG", "RFC 4738";
        SAKKE = 26, "SAKKE msg", "RFC 6509 s4.1";
    }
}

registry! {
    /// HDR PRF func, the 7 low bits of octet 3 (RFC 3830 s6.1 table 6.1.b, RFC 6043 s6.1).
    PrfFunc {
        MIKEY_1 = 0, "MIKEY-1", "RFC 3830 s4.1.2";
        PRF_HMAC_SHA_256 = 1, "PRF-HMAC-SHA-256", "RFC 6043 s6.1";
    }
}

registry! {
    /// HDR CS ID map type (RFC 3830 s6.1 table 6.1.d, RFC 4563, RFC 6043 s6.1).
    CsIdMapType {
        SRTP_ID = 0, "SRTP-ID", "RFC 3830 s6.1.1";
        EMPTY = 1, "Empty map", "RFC 4563";
        GENERIC_ID = 2, "GENERIC-ID", "RFC 6043 s6.1.1";
    }
}

registry! {
    /// Security protocol of a crypto session or a policy (RFC 3830 s6.10 table 6.10.a).
    ProtType {
        SRTP = 0, "SRTP", "RFC 3830 s6.10.1";
    }
}

registry! {
    /// TS type of a T payload (RFC 3830 s6.6 table 6.6.a, RFC 6043 s6.3).
    TsType {
        NTP_UTC = 0, "NTP-UTC", "RFC 3830 s6.6";
        NTP = 1, "NTP", "RFC 3830 s6.6";
        COUNTER = 2, "COUNTER", "RFC 3830 s6.6";
        NTP_UTC_32 = 3, "NTP-UTC-32", "RFC 6043 s6.3";
    }
}

registry! {
    /// ID type of an ID or IDR payload (RFC 3830 s6.7 table 6.7.a, RFC 6043 s6.6).
    IdType {
        NAI = 0, "NAI", "RFC 3830 s6.7";
        URI = 1, "URI", "RFC 3830 s6.7";
        BYTE_STRING = 2, "Byte string", "RFC 6043 s6.6";
    }
}

registry! {
    /// ID role of an IDR payload (RFC 6043 s6.6 table 6.6, RFC 6509 s4.4, TS 33.180 E.7).
    IdRole {
        INITIATOR = 1, "Initiator (IDRi)", "RFC 6043 s6.6";
        RESPONDER = 2, "Responder (IDRr)", "RFC 6043 s6.6";
        KMS = 3, "KMS (IDRkms)", "RFC 6043 s6.6";
        PRE_SHARED_KEY = 4, "Pre-Shared Key (IDRpsk)", "RFC 6043 s6.6";
        APPLICATION = 5, "Application (IDRapp)", "RFC 6043 s6.6";
        INITIATOR_KMS = 6, "Initiator's KMS (IDRkmsi)", "RFC 6509 s4.4";
        RESPONDER_KMS = 7, "Responder's KMS (IDRkmsr)", "RFC 6509 s4.4";
        HASHED_INITIATOR = 8, "hashed initiator UID (IDRuidi)", "TS 33.180 E.7";
        HASHED_RESPONDER = 9, "hashed responder UID (IDRuidr)", "TS 33.180 E.7";
    }
}

registry! {
    /// Certificate type of a CERT payload (RFC 3830 s6.7 table 6.7.b).
    CertType {
        X509V3 = 0, "X.509v3", "RFC 3830 s6.7";
        X509V3_URL = 1, "X.509v3 URL", "RFC 3830 s6.7";
        X509V3_SIGN = 2, "X.509v3 Sign", "RFC 3830 s6.7";
        X509V3_ENCR = 3, "X.509v3 Encr", "RFC 3830 s6.7";
    }
}

registry! {
    /// Error number of an ERR payload (RFC 3830 s6.12 table 6.12.a, RFC 6043,
    /// RFC 6509 s2.2.2).
    ErrorNo {
        AUTH_FAILURE = 0, "Auth failure", "RFC 3830 s6.12";
        INVALID_TS = 1, "Invalid TS", "RFC 3830 s6.12";
        INVALID_PRF = 2, "Invalid PRF", "RFC 3830 s6.12";
        INVALID_MAC = 3, "Invalid MAC", "RFC 3830 s6.12";
        INVALID_EA = 4, "Invalid EA", "RFC 3830 s6.12";
        INVALID_HA = 5, "Invalid HA", "RFC 3830 s6.12";
        INVALID_DH = 6, "Invalid DH", "RFC 3830 s6.12";
        INVALID_ID = 7, "Invalid ID", "RFC 3830 s6.12";
        INVALID_CERT = 8, "Invalid Cert", "RFC 3830 s6.12";
        INVALID_SP = 9, "Invalid SP", "RFC 3830 s6.12";
        INVALID_SPPAR = 10, "Invalid SPpar", "RFC 3830 s6.12";
        INVALID_DT = 11, "Invalid DT", "RFC 3830 s6.12";
        UNSPECIFIED = 12, "Unspecified error", "RFC 3830 s6.12";
        UNSUPPORTED_MESSAGE_TYPE = 13, "Unsupported message type", "RFC 6509 s2.2.2";
        INVALID_TICKET = 14, "Invalid TICKET", "RFC 6043";
        INVALID_TPPAR = 15, "Invalid TPpar", "RFC 6043";
    }
}

registry! {
    /// SAKKE params of a SAKKE payload (RFC 6509 s4.2, s7.2).
    SakkeParams {
        PARAMETER_SET_1 = 1, "parameter set 1", "RFC 6509 Appendix A";
    }
}

registry! {
    /// ID scheme of a SAKKE payload (RFC 6509 s4.2, s3.2; TS 33.180 E.5). The value 2 for the
    /// 3GPP hashed-UID scheme is the one TS 33.180 implementations send; the IANA entry was not
    /// read.
    IdScheme {
        TEL_URI_MONTHLY = 1, "tel URI with monthly keys", "RFC 6509 s3.2";
        MCX_HASHED_UID = 2, "3GPP MCX hashed UID", "TS 33.180 E.5";
    }
}

registry! {
    /// General Extension type (RFC 3830 s6.15 table 6.15.a, RFC 4563, TS 33.180 E.5, E.6).
    ExtType {
        VENDOR_ID = 0, "Vendor ID", "RFC 3830 s6.15";
        SDP_IDS = 1, "SDP IDs", "RFC 3830 s6.15";
        KEY_ID = 3, "Key ID information", "RFC 4563";
        SAKKE_TO_SELF = 6, "SAKKE-to-self", "TS 33.180 E.5";
        KEY_PARAMETERS = 7, "3GPP key parameters", "TS 33.180 E.6";
    }
}

registry! {
    /// S type of a SIGN payload, 4 bits (RFC 3830 s6.5 table 6.5.a, RFC 6509 s4.3).
    SignatureType {
        RSA_PKCS1_V1_5 = 0, "RSA/PKCS#1/1.5", "RFC 3830 s6.5";
        RSA_PSS = 1, "RSA/PSS", "RFC 3830 s6.5";
        ECCSI = 2, "ECCSI", "RFC 6509 s4.3";
    }
}

registry! {
    /// Encr alg of a KEMAC payload (RFC 3830 s6.2 table 6.2.a, RFC 6043 s6.2).
    EncrAlg {
        NULL = 0, "NULL", "RFC 3830 s6.2";
        AES_CM_128 = 1, "AES-CM-128", "RFC 3830 s6.2";
        AES_KW_128 = 2, "AES-KW-128", "RFC 3830 s6.2";
        AES_CM_256 = 3, "AES-CM-256", "RFC 6043 s6.2";
    }
}

registry! {
    /// MAC alg of a KEMAC payload and Auth alg of a V payload (RFC 3830 s6.2 table 6.2.b,
    /// s6.9; RFC 6043 s6.2). The algorithm fixes the length of the MAC field.
    MacAlg {
        NULL = 0, "NULL", "RFC 3830 s6.2";
        HMAC_SHA_1_160 = 1, "HMAC-SHA-1-160", "RFC 3830 s6.2";
        HMAC_SHA_256_256 = 2, "HMAC-SHA-256-256", "RFC 6043 s6.2";
    }
}

impl MacAlg {
    /// The length in octets of the MAC (or verification data) this algorithm produces, or
    /// `None` for an algorithm not known here (RFC 3830 s6.2: NULL 0, HMAC-SHA-1-160 20;
    /// RFC 6043 s6.2: HMAC-SHA-256-256 32).
    pub fn mac_len(self) -> Option<usize> {
        match self.0 {
            0 => Some(0),
            1 => Some(20),
            2 => Some(32),
            _ => None,
        }
    }
}

registry! {
    /// Type of a Key data sub-payload, 4 bits (RFC 3830 s6.13 table 6.13.a, RFC 6043).
    KeyDataType {
        TGK = 0, "TGK", "RFC 3830 s6.13";
        TGK_SALT = 1, "TGK+SALT", "RFC 3830 s6.13";
        TEK = 2, "TEK", "RFC 3830 s6.13";
        TEK_SALT = 3, "TEK+SALT", "RFC 3830 s6.13";
        GTGK = 4, "GTGK", "RFC 6043";
        GTGK_SALT = 5, "GTGK+SALT", "RFC 6043";
        MPK = 6, "MPK", "RFC 6043";
    }
}

impl KeyDataType {
    /// Whether a Salt len / Salt data pair follows the key (the `+SALT` types), or `None` for
    /// a type not known here.
    pub fn has_salt(self) -> Option<bool> {
        match self.0 {
            1 | 3 | 5 => Some(true),
            0 | 2 | 4 | 6 => Some(false),
            _ => None,
        }
    }
}

registry! {
    /// KV (key validity) type of a Key data sub-payload, 4 bits (RFC 3830 s6.13 table 6.13.b).
    KvType {
        NULL = 0, "Null", "RFC 3830 s6.13";
        SPI = 1, "SPI/MKI", "RFC 3830 s6.13";
        INTERVAL = 2, "Interval", "RFC 3830 s6.13";
    }
}

registry! {
    /// Type of an SRTP policy parameter in an SP payload with Prot type SRTP (RFC 3830 s6.10.1
    /// table 6.10.1.a; 13 and 18-20 are later IANA registrations, used by the TS 33.179 E.2
    /// default group-call profile).
    SrtpParamType {
        ENCRYPTION_ALGORITHM = 0, "Encryption algorithm", "RFC 3830 s6.10.1";
        SESSION_ENCRYPTION_KEY_LENGTH = 1, "Session Encr. key length", "RFC 3830 s6.10.1";
        AUTHENTICATION_ALGORITHM = 2, "Authentication algorithm", "RFC 3830 s6.10.1";
        SESSION_AUTH_KEY_LENGTH = 3, "Session Auth. key length", "RFC 3830 s6.10.1";
        SESSION_SALT_KEY_LENGTH = 4, "Session Salt key length", "RFC 3830 s6.10.1";
        SRTP_PRF = 5, "SRTP Pseudo Random Function", "RFC 3830 s6.10.1";
        KEY_DERIVATION_RATE = 6, "Key derivation rate", "RFC 3830 s6.10.1";
        SRTP_ENCRYPTION = 7, "SRTP encryption off/on", "RFC 3830 s6.10.1";
        SRTCP_ENCRYPTION = 8, "SRTCP encryption off/on", "RFC 3830 s6.10.1";
        FEC_ORDER = 9, "Sender's FEC order", "RFC 3830 s6.10.1";
        SRTP_AUTHENTICATION = 10, "SRTP authentication off/on", "RFC 3830 s6.10.1";
        AUTH_TAG_LENGTH = 11, "Authentication tag length", "RFC 3830 s6.10.1";
        SRTP_PREFIX_LENGTH = 12, "SRTP prefix length", "RFC 3830 s6.10.1";
        ROC_TRANSMISSION_RATE = 13, "ROC transmission rate", "RFC 4771";
        SRTP_AUTH_TAG_LENGTH = 18, "SRTP authentication tag length", "TS 33.179 E.2";
        SRTCP_AUTH_TAG_LENGTH = 19, "SRTCP authentication tag length", "TS 33.179 E.2";
        AEAD_AUTH_TAG_LENGTH = 20, "AEAD authentication tag length", "RFC 7714";
    }
}
