//! Config providers: `${provider:path:key}` references in connector configs, resolved when a
//! connector or task starts and never written back resolved (Kafka's `ConfigTransformer`,
//! KIP-297; `FileConfigProvider`, `DirectoryConfigProvider`, `EnvVarConfigProvider`).
//!
//! ```text
//!  worker props: config.providers=file,env
//!                config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//!                config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//!  connector:    connection.password=${file:/etc/secrets/db.properties:password}
//!                       │ resolve (at task start)
//!                       ▼
//!  task config:  connection.password=hunter2      (the stored config keeps the reference)
//! ```
//!
//! As in Kafka, a reference to a provider that isn't configured, or to a key the provider
//! doesn't have, is left as written; a provider that fails (unreadable file) is an error that
//! names the reference.

use std::collections::BTreeMap;
use std::path::Path;

/// A provider failed to resolve a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// `config.providers` names a provider without a known class.
    #[error("config provider {name}: unknown class {class:?} (known: {known})")]
    UnknownClass {
        /// The provider's name.
        name: String,
        /// The configured class.
        class: String,
        /// The classes kaflow knows.
        known: String,
    },
    /// The provider couldn't read its source.
    #[error("config provider {provider} could not resolve ${{{reference}}}: {detail}")]
    Failed {
        /// The provider's name.
        provider: String,
        /// The reference, without `${}`.
        reference: String,
        /// Why.
        detail: String,
    },
}

#[derive(Debug, Clone)]
enum Kind {
    /// `FileConfigProvider`: `${name:path:key}` = key in the properties file at path.
    File,
    /// `DirectoryConfigProvider`: `${name:dir:file}` = contents of dir/file.
    Directory,
    /// `EnvVarConfigProvider`: `${name:VAR}` (or `${name::VAR}`) = environment variable, if it
    /// matches `allowlist.pattern` (default: any).
    Env { allow: Option<regex::Regex> },
}

const CLASSES: &[(&str, &str)] = &[
    (
        "org.apache.kafka.common.config.provider.FileConfigProvider",
        "file",
    ),
    (
        "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
        "directory",
    ),
    (
        "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
        "env",
    ),
];

/// The providers a worker declared with `config.providers`.
#[derive(Debug, Clone, Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Kind>,
}

impl ConfigProviders {
    /// Builds the providers from worker properties: `config.providers` lists names, each with
    /// `config.providers.<name>.class` and optional `config.providers.<name>.param.*`.
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Self, ProviderError> {
        let mut providers = BTreeMap::new();
        let names = props.get("config.providers").map(String::as_str).unwrap_or("");
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let class = props
                .get(&format!("config.providers.{name}.class"))
                .cloned()
                .unwrap_or_default();
            let short = CLASSES
                .iter()
                .find(|(fq, short)| {
                    class == *fq || class.rsplit('.').next() == fq.rsplit('.').next() || class == *short
                })
                .map(|(_, short)| *short);
            let unknown = || ProviderError::UnknownClass {
                name: name.to_string(),
                class: class.clone(),
                known: CLASSES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "),
            };
            let kind = match short.ok_or_else(unknown)? {
                "file" => Kind::File,
                "directory" => Kind::Directory,
                _ => {
                    let key = format!("config.providers.{name}.param.allowlist.pattern");
                    let allow = match props.get(&key) {
                        Some(p) => Some(regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                            ProviderError::Failed {
                                provider: name.to_string(),
                                reference: key.clone(),
                                detail: e.to_string(),
                            }
                        })?),
                        None => None,
                    };
                    Kind::Env { allow }
                }
            };
            providers.insert(name.to_string(), kind);
        }
        Ok(Self { providers })
    }

    /// Whether any provider is configured.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Resolves every `${provider:[path:]key}` in every value of `config`.
    pub fn resolve(
        &self,
        config: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        config
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.resolve_value(v)?)))
            .collect()
    }

    /// Resolves the references in one value.
    pub fn resolve_value(&self, value: &str) -> Result<String, ProviderError> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let reference = &after[..end];
            match self.lookup(reference)? {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[start..start + 2 + end + 1]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, reference: &str) -> Result<Option<String>, ProviderError> {
        // Kafka's pattern is `${([^}]*?):(([^}]*?):)?([^}]*?)}`: its lazy groups split at the
        // first colons, so `${p:a:b:c}` is path `a`, key `b:c`; `${env:VAR}` has no path.
        let Some((provider, rest)) = reference.split_once(':') else {
            return Ok(None);
        };
        let Some(kind) = self.providers.get(provider) else {
            return Ok(None);
        };
        let (path, key) = match rest.split_once(':') {
            Some((p, k)) => (p, k),
            None => ("", rest),
        };
        let fail = |detail: String| ProviderError::Failed {
            provider: provider.to_string(),
            reference: reference.to_string(),
            detail,
        };
        match kind {
            Kind::File => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read {path}: {e}")))?;
                Ok(super::properties_file::parse(&text)
                    .into_iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v))
            }
            Kind::Directory => {
                let file = Path::new(path).join(key);
                match std::fs::read_to_string(&file) {
                    Ok(s) => Ok(Some(s)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(fail(format!("cannot read {}: {e}", file.display()))),
                }
            }
            Kind::Env { allow } => {
                if allow.as_ref().is_some_and(|re| !re.is_match(key)) {
                    return Ok(None);
                }
                Ok(std::env::var(key).ok())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn providers() -> ConfigProviders {
        ConfigProviders::from_worker(&props(&[
            ("config.providers", "file, env,dir"),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
            (
                "config.providers.env.class",
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            ),
            (
                "config.providers.env.param.allowlist.pattern",
                "KAFLOW_TEST_.*|PATH",
            ),
            ("config.providers.dir.class", "DirectoryConfigProvider"),
        ]))
        .unwrap()
    }

    #[test]
    fn file_env_and_directory_references_resolve() {
        let dir = std::env::temp_dir().join(format!("kaflow-providers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secrets = dir.join("db.properties");
        std::fs::write(&secrets, "user=alice\npassword=hunter2\n").unwrap();
        std::fs::write(dir.join("token"), "t0k3n").unwrap();
        let p = providers();
        let cfg = props(&[
            ("connection.url", "jdbc:postgresql://db/${file:SECRETS:user}"),
            ("connection.password", "${file:SECRETS:password}"),
            ("token", "${dir:DIR:token}"),
            ("path", "${env:PATH}"),
            ("blocked", "${env:HOME}"),
            ("unknown.provider", "${vault:x:y}"),
            ("missing.key", "${file:SECRETS:nope}"),
            ("plain", "no references"),
        ]);
        let cfg: BTreeMap<String, String> = cfg
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.replace("SECRETS", secrets.to_str().unwrap())
                        .replace("DIR", dir.to_str().unwrap()),
                )
            })
            .collect();
        let r = p.resolve(&cfg).unwrap();
        assert_eq!(r["connection.url"], "jdbc:postgresql://db/alice");
        assert_eq!(r["connection.password"], "hunter2");
        assert_eq!(r["token"], "t0k3n");
        assert_eq!(r["path"], std::env::var("PATH").unwrap());
        assert_eq!(
            r["blocked"], "${env:HOME}",
            "not in the allowlist: left as written"
        );
        assert_eq!(r["unknown.provider"], "${vault:x:y}");
        assert!(r["missing.key"].starts_with("${file:"));
        assert_eq!(r["plain"], "no references");
        // The input map is untouched: the stored config keeps its references.
        assert_eq!(
            cfg["connection.password"],
            format!("${{file:{}:password}}", secrets.display())
        );
    }

    #[test]
    fn unreadable_file_names_the_reference_and_unknown_class_lists_known() {
        let e = providers()
            .resolve_value("${file:/nonexistent/kaflow.properties:password}")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/kaflow.properties") && e.contains("cannot read"),
            "{e}"
        );
        let e = ConfigProviders::from_worker(&props(&[
            ("config.providers", "vault"),
            ("config.providers.vault.class", "com.example.VaultConfigProvider"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("com.example.VaultConfigProvider") && e.contains("FileConfigProvider"),
            "{e}"
        );
    }
}
