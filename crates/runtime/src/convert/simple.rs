//! The small converters: `StringConverter`, `ByteArrayConverter`, the number converters
//! (`org.apache.kafka.connect.converters.*`: big-endian fixed width, like Kafka's
//! serializers), `BooleanConverter`, and `SimpleHeaderConverter` (the default header
//! converter: `Values.convertToString` out, `Values.parseString` in).
//!
//! ```text
//!  Value::Int32(7) ──IntegerConverter──▶ 00 00 00 07 ──▶ (OPTIONAL_INT32, Int32(7))
//!  Value::Null     ──────────────────▶ None (null)  ──▶ (OPTIONAL_INT32, Null)
//!  "ab"            ──StringConverter (converter.encoding)──▶ 61 62
//!  Bytes           ──ByteArrayConverter──▶ the same Bytes, not copied
//! ```

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{
    converter_config_def, with_type, ConvertError, Converter, ConverterType, HeaderConverter, RawHeader,
};
use crate::config::{ConfigDef, ConfigKey, ConfigType, Importance, Width};
use crate::data::values::{convert_to_string, java_to_string, parse_string};
use crate::data::{Schema, SchemaAndValue, Type, Value};

/// Implements `HeaderConverter` by delegating to the `Converter` methods, as Kafka's
/// converters that are both do.
macro_rules! header_via_converter {
    ($t:ty) => {
        impl HeaderConverter for $t {
            fn class_name(&self) -> &'static str {
                Converter::class_name(self)
            }
            fn configure_header(&mut self, props: &BTreeMap<String, String>) -> Result<(), ConvertError> {
                self.configure_typed(&with_type(props, ConverterType::Header))
            }
            fn from_connect_header(
                &self,
                topic: &str,
                _key: &str,
                schema: Option<&Schema>,
                value: &Value,
            ) -> Result<Option<Bytes>, ConvertError> {
                self.from_connect(topic, &mut Vec::new(), schema, value)
            }
            fn to_connect_header(
                &self,
                topic: &str,
                _key: &str,
                bytes: Option<&Bytes>,
            ) -> Result<SchemaAndValue, ConvertError> {
                self.to_connect(topic, &[], bytes)
            }
        }
    };
}

/// A character set `converter.encoding` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Charset {
    #[default]
    Utf8,
    Ascii,
    Latin1,
    Utf16Be,
    Utf16Le,
    /// Java's "UTF-16": big-endian with a byte-order mark on encode, BOM honoured on decode.
    Utf16,
}

impl Charset {
    /// Java charset names and aliases, case-insensitively.
    fn parse(name: &str) -> Option<Charset> {
        Some(match name.to_ascii_uppercase().replace('_', "-").as_str() {
            "UTF-8" | "UTF8" => Charset::Utf8,
            "US-ASCII" | "ASCII" => Charset::Ascii,
            "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "ISO-LATIN-1" => Charset::Latin1,
            "UTF-16BE" => Charset::Utf16Be,
            "UTF-16LE" => Charset::Utf16Le,
            "UTF-16" | "UTF16" => Charset::Utf16,
            _ => return None,
        })
    }

    /// `String.getBytes(charset)`: unmappable characters become `?`.
    fn encode(self, s: &str) -> Vec<u8> {
        match self {
            Charset::Utf8 => s.as_bytes().to_vec(),
            Charset::Ascii => s
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
            Charset::Latin1 => s
                .chars()
                .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                .collect(),
            Charset::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Charset::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Charset::Utf16 => [0xfe, 0xff]
                .into_iter()
                .chain(s.encode_utf16().flat_map(u16::to_be_bytes))
                .collect(),
        }
    }

    /// `new String(bytes, charset)`: malformed input becomes U+FFFD.
    fn decode(self, b: &[u8]) -> String {
        let utf16 = |b: &[u8], be: bool| {
            let units: Vec<u16> = b
                .chunks(2)
                .map(|c| match (c, be) {
                    ([x, y], true) => u16::from_be_bytes([*x, *y]),
                    ([x, y], false) => u16::from_le_bytes([*x, *y]),
                    _ => 0xfffd,
                })
                .collect();
            String::from_utf16_lossy(&units)
        };
        match self {
            Charset::Utf8 => String::from_utf8_lossy(b).into_owned(),
            Charset::Ascii => b
                .iter()
                .map(|&x| if x < 128 { x as char } else { '\u{fffd}' })
                .collect(),
            Charset::Latin1 => b.iter().map(|&x| x as char).collect(),
            Charset::Utf16Be => utf16(b, true),
            Charset::Utf16Le => utf16(b, false),
            Charset::Utf16 => match b {
                [0xfe, 0xff, rest @ ..] => utf16(rest, true),
                [0xff, 0xfe, rest @ ..] => utf16(rest, false),
                _ => utf16(b, true),
            },
        }
    }
}

/// `converter.encoding` (`StringConverterConfig.ENCODING_CONFIG`).
pub const ENCODING_CONFIG: &str = "converter.encoding";

/// `org.apache.kafka.connect.storage.StringConverter`: writes `value.toString()` in the
/// configured encoding; reads an OPTIONAL_STRING.
#[derive(Debug, Clone, Default)]
pub struct StringConverter {
    charset: Charset,
}

impl StringConverter {
    /// UTF-8.
    pub fn new() -> Self {
        Self::default()
    }

    fn configure_typed(&mut self, props: &BTreeMap<String, String>) -> Result<(), ConvertError> {
        let parsed = Converter::config_def(self).parse(props)?;
        let name = parsed.string(ENCODING_CONFIG).unwrap_or("UTF-8");
        self.charset = Charset::parse(name).ok_or_else(|| {
            ConvertError::Conversion(format!(
                "Unsupported converter.encoding {name}; kaflow supports UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE, UTF-16LE"
            ))
        })?;
        Ok(())
    }
}

impl Converter for StringConverter {
    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.storage.StringConverter"
    }
    fn config_def(&self) -> ConfigDef {
        converter_config_def().define(
            ConfigKey::new(
                ENCODING_CONFIG,
                ConfigType::String,
                Some("UTF-8"),
                Importance::High,
                "The name of the Java character set to use for encoding strings as byte arrays.",
            )
            .group("", -1, Width::Medium, "Encoding"),
        )
    }
    fn configure(&mut self, props: &BTreeMap<String, String>, is_key: bool) -> Result<(), ConvertError> {
        self.configure_typed(&with_type(
            props,
            if is_key {
                ConverterType::Key
            } else {
                ConverterType::Value
            },
        ))
    }
    fn from_connect(
        &self,
        _topic: &str,
        _headers: &mut Vec<RawHeader>,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, ConvertError> {
        Ok(match value {
            Value::Null => None,
            // The common case: no formatting, one copy into the output.
            Value::String(s) if self.charset == Charset::Utf8 => Some(Bytes::copy_from_slice(s.as_bytes())),
            v => Some(Bytes::from(self.charset.encode(&java_to_string(v)))),
        })
    }
    fn to_connect(
        &self,
        _topic: &str,
        _headers: &[RawHeader],
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let value = bytes.map_or(Value::Null, |b| Value::String(self.charset.decode(b)));
        Ok(SchemaAndValue::new(Some(Schema::OPTIONAL_STRING()), value))
    }
}
header_via_converter!(StringConverter);

/// `org.apache.kafka.connect.converters.ByteArrayConverter`: BYTES pass through untouched.
#[derive(Debug, Clone, Default)]
pub struct ByteArrayConverter;

impl ByteArrayConverter {
    fn configure_typed(&mut self, props: &BTreeMap<String, String>) -> Result<(), ConvertError> {
        converter_config_def().parse(props)?;
        Ok(())
    }
}

impl Converter for ByteArrayConverter {
    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.converters.ByteArrayConverter"
    }
    fn config_def(&self) -> ConfigDef {
        converter_config_def()
    }
    fn configure(&mut self, _props: &BTreeMap<String, String>, _is_key: bool) -> Result<(), ConvertError> {
        // Kafka's ByteArrayConverter ignores its configuration.
        Ok(())
    }
    fn from_connect(
        &self,
        _topic: &str,
        _headers: &mut Vec<RawHeader>,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, ConvertError> {
        if let Some(s) = schema.filter(|s| s.type_() != Type::Bytes) {
            return Err(ConvertError::Conversion(format!(
                "Invalid schema type for ByteArrayConverter: {}",
                s.type_()
            )));
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(ConvertError::Conversion(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                other.kind()
            ))),
        }
    }
    fn to_connect(
        &self,
        _topic: &str,
        _headers: &[RawHeader],
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let value = bytes.map_or(Value::Null, |b| Value::Bytes(b.clone()));
        Ok(SchemaAndValue::new(Some(Schema::OPTIONAL_BYTES()), value))
    }
}
header_via_converter!(ByteArrayConverter);

macro_rules! number_converter {
    ($(#[$doc:meta])* $name:ident, $class:literal, $type_name:literal, $variant:ident, $rust:ty,
     $schema:ident, $deser:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name;

        impl $name {
            fn configure_typed(&mut self, props: &BTreeMap<String, String>) -> Result<(), ConvertError> {
                converter_config_def().parse(props)?;
                Ok(())
            }
        }

        impl Converter for $name {
            fn class_name(&self) -> &'static str {
                $class
            }
            fn config_def(&self) -> ConfigDef {
                converter_config_def()
            }
            fn configure(&mut self, props: &BTreeMap<String, String>, is_key: bool) -> Result<(), ConvertError> {
                self.configure_typed(&with_type(props, if is_key { ConverterType::Key } else { ConverterType::Value }))
            }
            fn from_connect(
                &self,
                _topic: &str,
                _headers: &mut Vec<RawHeader>,
                _schema: Option<&Schema>,
                value: &Value,
            ) -> Result<Option<Bytes>, ConvertError> {
                match value {
                    Value::Null => Ok(None),
                    Value::$variant(v) => Ok(Some(Bytes::copy_from_slice(&v.to_be_bytes()))),
                    other => Err(ConvertError::Conversion(format!(
                        concat!("Failed to serialize to ", $type_name, " (was {}): "),
                        other.kind()
                    ))),
                }
            }
            fn to_connect(
                &self,
                _topic: &str,
                _headers: &[RawHeader],
                bytes: Option<&Bytes>,
            ) -> Result<SchemaAndValue, ConvertError> {
                let value = match bytes {
                    None => Value::Null,
                    Some(b) => {
                        let arr: [u8; std::mem::size_of::<$rust>()] = b[..].try_into().map_err(|_| {
                            ConvertError::Conversion(format!(
                                concat!("Failed to deserialize ", $type_name, ": Size of data received by ",
                                        $deser, " is not {}"),
                                std::mem::size_of::<$rust>()
                            ))
                        })?;
                        Value::$variant(<$rust>::from_be_bytes(arr))
                    }
                };
                Ok(SchemaAndValue::new(Some(Schema::$schema()), value))
            }
        }
        header_via_converter!($name);
    };
}

number_converter!(
    /// `org.apache.kafka.connect.converters.ShortConverter`: INT16, 2 bytes big-endian.
    ShortConverter, "org.apache.kafka.connect.converters.ShortConverter", "short", Int16, i16,
    OPTIONAL_INT16, "ShortDeserializer"
);
number_converter!(
    /// `org.apache.kafka.connect.converters.IntegerConverter`: INT32, 4 bytes big-endian.
    IntegerConverter, "org.apache.kafka.connect.converters.IntegerConverter", "integer", Int32, i32,
    OPTIONAL_INT32, "IntegerDeserializer"
);
number_converter!(
    /// `org.apache.kafka.connect.converters.LongConverter`: INT64, 8 bytes big-endian.
    LongConverter, "org.apache.kafka.connect.converters.LongConverter", "long", Int64, i64,
    OPTIONAL_INT64, "LongDeserializer"
);
number_converter!(
    /// `org.apache.kafka.connect.converters.FloatConverter`: FLOAT32, IEEE 754 big-endian.
    FloatConverter, "org.apache.kafka.connect.converters.FloatConverter", "float", Float32, f32,
    OPTIONAL_FLOAT32, "FloatDeserializer"
);
number_converter!(
    /// `org.apache.kafka.connect.converters.DoubleConverter`: FLOAT64, IEEE 754 big-endian.
    DoubleConverter, "org.apache.kafka.connect.converters.DoubleConverter", "double", Float64, f64,
    OPTIONAL_FLOAT64, "DoubleDeserializer"
);

/// `org.apache.kafka.connect.converters.BooleanConverter`: one byte, 1 or 0.
#[derive(Debug, Clone, Default)]
pub struct BooleanConverter;

impl BooleanConverter {
    fn configure_typed(&mut self, props: &BTreeMap<String, String>) -> Result<(), ConvertError> {
        converter_config_def().parse(props)?;
        Ok(())
    }
}

impl Converter for BooleanConverter {
    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.converters.BooleanConverter"
    }
    fn config_def(&self) -> ConfigDef {
        converter_config_def()
    }
    fn configure(&mut self, props: &BTreeMap<String, String>, is_key: bool) -> Result<(), ConvertError> {
        self.configure_typed(&with_type(
            props,
            if is_key {
                ConverterType::Key
            } else {
                ConverterType::Value
            },
        ))
    }
    fn from_connect(
        &self,
        _topic: &str,
        _headers: &mut Vec<RawHeader>,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, ConvertError> {
        if let Some(s) = schema.filter(|s| s.type_() != Type::Boolean) {
            return Err(ConvertError::Conversion(format!(
                "Invalid schema type for BooleanConverter: {}",
                s.type_()
            )));
        }
        match value {
            Value::Null => Ok(None),
            Value::Boolean(b) => Ok(Some(Bytes::from_static(if *b { &[1] } else { &[0] }))),
            other => Err(ConvertError::Conversion(format!(
                "BooleanConverter is not compatible with objects of type {}",
                other.kind()
            ))),
        }
    }
    fn to_connect(
        &self,
        _topic: &str,
        _headers: &[RawHeader],
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let value =
            match bytes.map(|b| &b[..]) {
                None => Value::Null,
                Some([0]) => Value::Boolean(false),
                Some([1]) => Value::Boolean(true),
                Some([x]) => {
                    return Err(ConvertError::Conversion(format!(
                        "Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: {x}"
                    )))
                }
                Some(_) => return Err(ConvertError::Conversion(
                    "Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1"
                        .to_owned(),
                )),
            };
        Ok(SchemaAndValue::new(Some(Schema::OPTIONAL_BOOLEAN()), value))
    }
}
header_via_converter!(BooleanConverter);

/// `org.apache.kafka.connect.storage.SimpleHeaderConverter`, Connect's default header
/// converter: values as their `Values.convertToString` text in UTF-8; read back with
/// `Values.parseString`, which infers the schema (`42` → INT8, `[1,2]` → ARRAY, ...). Bytes
/// that don't parse come back as BYTES.
#[derive(Debug, Clone, Default)]
pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.storage.SimpleHeaderConverter"
    }
    fn configure_header(&mut self, _props: &BTreeMap<String, String>) -> Result<(), ConvertError> {
        Ok(())
    }
    fn from_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Bytes>, ConvertError> {
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(Bytes::from(convert_to_string(schema, value))))
    }
    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        bytes: Option<&Bytes>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let Some(b) = bytes else {
            return Ok(SchemaAndValue::default());
        };
        let text = String::from_utf8_lossy(b);
        Ok(match parse_string(&text) {
            Ok(sv) => sv,
            // Kafka logs and falls back to the raw bytes.
            Err(_) => SchemaAndValue::new(Some(Schema::BYTES()), Value::Bytes(b.clone())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn number_converters_are_big_endian_and_null_is_none() {
        let c = IntegerConverter;
        let b = c
            .from_connect("t", &mut Vec::new(), None, &Value::Int32(7))
            .unwrap()
            .unwrap();
        assert_eq!(&b[..], &[0, 0, 0, 7]);
        let back = c.to_connect("t", &[], Some(&b)).unwrap();
        assert_eq!(
            back,
            SchemaAndValue::new(Some(Schema::OPTIONAL_INT32()), Value::Int32(7))
        );
        assert_eq!(
            c.from_connect("t", &mut Vec::new(), None, &Value::Null).unwrap(),
            None
        );
        assert_eq!(c.to_connect("t", &[], None).unwrap().value, Value::Null);
        let e = c
            .from_connect("t", &mut Vec::new(), None, &Value::Int64(7))
            .unwrap_err();
        assert_eq!(e.to_string(), "Failed to serialize to integer (was Int64): ");
        let e = c
            .to_connect("t", &[], Some(&Bytes::from_static(&[1, 2])))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Failed to deserialize integer: Size of data received by IntegerDeserializer is not 4"
        );
        let d = DoubleConverter;
        let b = d
            .from_connect("t", &mut Vec::new(), None, &Value::Float64(1.5))
            .unwrap()
            .unwrap();
        assert_eq!(&b[..], &1.5f64.to_be_bytes());
        assert_eq!(
            d.to_connect("t", &[], Some(&b)).unwrap().value,
            Value::Float64(1.5)
        );
        for (c, v) in [
            (&ShortConverter as &dyn Converter, Value::Int16(-2)),
            (&LongConverter, Value::Int64(i64::MIN)),
            (&FloatConverter, Value::Float32(-0.5)),
        ] {
            let b = c.from_connect("t", &mut Vec::new(), None, &v).unwrap();
            assert_eq!(c.to_connect("t", &[], b.as_ref()).unwrap().value, v);
        }
    }

    #[test]
    fn boolean_and_bytes_converters() {
        let c = BooleanConverter;
        let t = c
            .from_connect("t", &mut Vec::new(), None, &Value::Boolean(true))
            .unwrap()
            .unwrap();
        assert_eq!(&t[..], &[1]);
        assert_eq!(
            c.to_connect("t", &[], Some(&t)).unwrap().value,
            Value::Boolean(true)
        );
        let e = c
            .from_connect(
                "t",
                &mut Vec::new(),
                Some(&Schema::INT32()),
                &Value::Boolean(true),
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "Invalid schema type for BooleanConverter: INT32");
        assert!(c.to_connect("t", &[], Some(&Bytes::from_static(&[2]))).is_err());

        let b = ByteArrayConverter;
        let data = Bytes::from_static(b"\x00\xffraw");
        let out = b
            .from_connect(
                "t",
                &mut Vec::new(),
                Some(&Schema::BYTES()),
                &Value::Bytes(data.clone()),
            )
            .unwrap();
        assert_eq!(
            out.as_ref().map(|o| o.as_ptr()),
            Some(data.as_ptr()),
            "passed through, not copied"
        );
        let e = b
            .from_connect("t", &mut Vec::new(), Some(&Schema::STRING()), &Value::from("x"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid schema type for ByteArrayConverter: STRING"
        );
        let e = b
            .from_connect("t", &mut Vec::new(), None, &Value::from("x"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ByteArrayConverter is not compatible with objects of type String"
        );
        assert_eq!(
            b.to_connect("t", &[], Some(&data)).unwrap().value,
            Value::Bytes(data)
        );
    }

    #[test]
    fn string_converter_encodings() {
        let mut c = StringConverter::new();
        c.configure(&props(&[]), false).unwrap();
        let out = c
            .from_connect("t", &mut Vec::new(), None, &Value::from("héllo"))
            .unwrap()
            .unwrap();
        assert_eq!(&out[..], "héllo".as_bytes());
        assert_eq!(
            c.to_connect("t", &[], Some(&out)).unwrap().value,
            Value::from("héllo")
        );
        let out = c
            .from_connect("t", &mut Vec::new(), None, &Value::Int32(42))
            .unwrap()
            .unwrap();
        assert_eq!(&out[..], b"42", "non-strings use toString()");
        c.configure(&props(&[("converter.encoding", "UTF-16BE")]), false)
            .unwrap();
        let out = c
            .from_connect("t", &mut Vec::new(), None, &Value::from("hé"))
            .unwrap()
            .unwrap();
        assert_eq!(&out[..], &[0, b'h', 0, 0xe9]);
        assert_eq!(
            c.to_connect("t", &[], Some(&out)).unwrap().value,
            Value::from("hé")
        );
        c.configure(&props(&[("converter.encoding", "ISO-8859-1")]), true)
            .unwrap();
        let out = c
            .from_connect("t", &mut Vec::new(), None, &Value::from("é€"))
            .unwrap()
            .unwrap();
        assert_eq!(&out[..], &[0xe9, b'?']);
        let e = c
            .configure(&props(&[("converter.encoding", "EBCDIC")]), true)
            .unwrap_err();
        assert!(e.to_string().contains("EBCDIC"), "{e}");
    }

    #[test]
    fn simple_header_converter_round_trips_common_types() {
        let c = SimpleHeaderConverter;
        for (schema, value, text) in [
            (Some(Schema::INT16()), Value::Int16(1000), "1000"),
            (Some(Schema::BOOLEAN()), Value::Boolean(true), "true"),
            (Some(Schema::STRING()), Value::from("hello world"), "hello world"),
        ] {
            let b = c
                .from_connect_header("t", "h", schema.as_ref(), &value)
                .unwrap()
                .unwrap();
            assert_eq!(&b[..], text.as_bytes());
            let back = c.to_connect_header("t", "h", Some(&b)).unwrap();
            assert_eq!(back.value, value, "{text}");
        }
        let back = c
            .to_connect_header("t", "h", Some(&Bytes::from_static(b"42")))
            .unwrap();
        assert_eq!(back, SchemaAndValue::new(Some(Schema::INT8()), Value::Int8(42)));
        assert_eq!(c.from_connect_header("t", "h", None, &Value::Null).unwrap(), None);
        assert_eq!(
            c.to_connect_header("t", "h", None).unwrap(),
            SchemaAndValue::default()
        );
    }
}
