//! Converters (filled in below).
