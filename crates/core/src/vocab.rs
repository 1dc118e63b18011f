//! A macro (exported as `vocab_words!` for other crates' word lists) for the closed word lists of the vocabulary: each variant has one spelling, used
//! in JSON, in the store, in the audit log and in URLs alike.

/// Defines `as_str`, `ALL`, `Display`, `FromStr` (naming the expected words on error) and
/// serde as the spelling, for a fieldless enum.
#[macro_export]
#[doc(hidden)]
macro_rules! vocab_words {
    ($(#[$m:meta])* pub enum $name:ident : $what:literal { $($(#[$vm:meta])* $v:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vm])* $v,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::VocabError;
            fn from_str(s: &str) -> Result<$name, Self::Err> {
                match s {
                    $($s => Ok($name::$v),)+
                    other => Err($crate::VocabError::new(
                        $what,
                        other,
                        format!("one of {}", [$($s),+].join(", ")),
                    )),
                }
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = <std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(d)?;
                s.parse().map_err($crate::__serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use vocab_words as words;
