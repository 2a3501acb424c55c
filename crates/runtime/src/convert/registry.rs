//! Converter lookup by Kafka class name or short alias (what `key.converter`,
//! `value.converter` and `header.converter` name).
//!
//! ```text
//!  "org.apache.kafka.connect.json.JsonConverter" ─┐
//!  "JsonConverter" ───────────────────────────────┴─▶ Box<dyn Converter> (unconfigured)
//!  "Nope" ─▶ ConvertError::Unknown { known: [every accepted name] }
//! ```

use super::*;

type Make = fn() -> Box<dyn Converter>;
type MakeHeader = fn() -> Box<dyn HeaderConverter>;

const CONVERTERS: &[(&str, Make)] = &[
    ("org.apache.kafka.connect.json.JsonConverter", || {
        Box::new(JsonConverter::new())
    }),
    ("org.apache.kafka.connect.storage.StringConverter", || {
        Box::new(StringConverter::new())
    }),
    ("org.apache.kafka.connect.converters.ByteArrayConverter", || {
        Box::new(ByteArrayConverter)
    }),
    ("org.apache.kafka.connect.converters.ShortConverter", || {
        Box::new(ShortConverter)
    }),
    ("org.apache.kafka.connect.converters.IntegerConverter", || {
        Box::new(IntegerConverter)
    }),
    ("org.apache.kafka.connect.converters.LongConverter", || {
        Box::new(LongConverter)
    }),
    ("org.apache.kafka.connect.converters.FloatConverter", || {
        Box::new(FloatConverter)
    }),
    ("org.apache.kafka.connect.converters.DoubleConverter", || {
        Box::new(DoubleConverter)
    }),
    ("org.apache.kafka.connect.converters.BooleanConverter", || {
        Box::new(BooleanConverter)
    }),
];

const HEADER_CONVERTERS: &[(&str, MakeHeader)] = &[
    ("org.apache.kafka.connect.storage.SimpleHeaderConverter", || {
        Box::new(SimpleHeaderConverter)
    }),
    ("org.apache.kafka.connect.json.JsonConverter", || {
        Box::new(JsonConverter::new())
    }),
    ("org.apache.kafka.connect.storage.StringConverter", || {
        Box::new(StringConverter::new())
    }),
    ("org.apache.kafka.connect.converters.ByteArrayConverter", || {
        Box::new(ByteArrayConverter)
    }),
    ("org.apache.kafka.connect.converters.ShortConverter", || {
        Box::new(ShortConverter)
    }),
    ("org.apache.kafka.connect.converters.IntegerConverter", || {
        Box::new(IntegerConverter)
    }),
    ("org.apache.kafka.connect.converters.LongConverter", || {
        Box::new(LongConverter)
    }),
    ("org.apache.kafka.connect.converters.FloatConverter", || {
        Box::new(FloatConverter)
    }),
    ("org.apache.kafka.connect.converters.DoubleConverter", || {
        Box::new(DoubleConverter)
    }),
    ("org.apache.kafka.connect.converters.BooleanConverter", || {
        Box::new(BooleanConverter)
    }),
];

/// Every key/value converter class name.
pub const KNOWN_CONVERTERS: &[&str] = &[
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.converters.ShortConverter",
    "org.apache.kafka.connect.converters.IntegerConverter",
    "org.apache.kafka.connect.converters.LongConverter",
    "org.apache.kafka.connect.converters.FloatConverter",
    "org.apache.kafka.connect.converters.DoubleConverter",
    "org.apache.kafka.connect.converters.BooleanConverter",
];

/// Every header converter class name.
pub const KNOWN_HEADER_CONVERTERS: &[&str] = &[
    "org.apache.kafka.connect.storage.SimpleHeaderConverter",
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.converters.ShortConverter",
    "org.apache.kafka.connect.converters.IntegerConverter",
    "org.apache.kafka.connect.converters.LongConverter",
    "org.apache.kafka.connect.converters.FloatConverter",
    "org.apache.kafka.connect.converters.DoubleConverter",
    "org.apache.kafka.connect.converters.BooleanConverter",
];

fn simple_name(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

fn find<T: Copy>(table: &[(&'static str, T)], name: &str) -> Option<T> {
    let name = name.trim();
    table
        .iter()
        .find(|(class, _)| *class == name || simple_name(class) == name)
        .map(|(_, m)| *m)
}

fn known(table: &[(&'static str, impl Copy)]) -> Vec<&'static str> {
    table.iter().flat_map(|(c, _)| [*c, simple_name(c)]).collect()
}

/// A key/value converter by class name or simple name (unconfigured).
pub fn lookup(name: &str) -> Result<Box<dyn Converter>, ConvertError> {
    find(CONVERTERS, name)
        .map(|make| make())
        .ok_or_else(|| ConvertError::Unknown {
            name: name.to_owned(),
            known: known(CONVERTERS),
        })
}

/// A header converter by class name or simple name (unconfigured).
pub fn lookup_header_converter(name: &str) -> Result<Box<dyn HeaderConverter>, ConvertError> {
    find(HEADER_CONVERTERS, name)
        .map(|make| make())
        .ok_or_else(|| ConvertError::Unknown {
            name: name.to_owned(),
            known: known(HEADER_CONVERTERS),
        })
}

/// A configured header converter (Connect's default is SimpleHeaderConverter).
pub fn header_converter(
    name: Option<&str>,
    props: &BTreeMap<String, String>,
) -> Result<Box<dyn HeaderConverter>, ConvertError> {
    let mut c =
        lookup_header_converter(name.unwrap_or("org.apache.kafka.connect.storage.SimpleHeaderConverter"))?;
    c.configure_header(props)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_class_and_alias() {
        for class in KNOWN_CONVERTERS {
            assert_eq!(lookup(class).unwrap().class_name(), *class);
            assert_eq!(lookup(simple_name(class)).unwrap().class_name(), *class);
        }
        for class in KNOWN_HEADER_CONVERTERS {
            assert_eq!(lookup_header_converter(class).unwrap().class_name(), *class);
        }
        let e = lookup("org.example.AvroConverter").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("Unknown converter class org.example.AvroConverter; known converters: "));
        assert!(
            msg.contains("org.apache.kafka.connect.json.JsonConverter, JsonConverter"),
            "{msg}"
        );
        assert!(
            lookup("SimpleHeaderConverter").is_err(),
            "not a key/value converter"
        );
        let h = header_converter(None, &BTreeMap::new()).unwrap();
        assert_eq!(
            h.class_name(),
            "org.apache.kafka.connect.storage.SimpleHeaderConverter"
        );
    }
}
