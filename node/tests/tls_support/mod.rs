//! Certificates for the TLS tests: a CA made in the test, and certificates it signs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};

/// A certificate authority of the test.
pub struct TestCa {
    key: KeyPair,
    cert: Certificate,
}

/// Where one issued certificate, its key and its CA were written.
pub struct IssuedFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa { key, cert }
    }

    /// Signs a certificate for `names` (IP addresses or DNS names) and writes `cert.pem`,
    /// `key.pem` and `ca.pem` in `directory` (the layout of a mounted kubernetes.io/tls Secret,
    /// under other file names). The key is written first: a reader that sees the new
    /// certificate before its key finds a mismatch and keeps the old pair.
    pub fn issue(&self, directory: &Path, names: &[String]) -> IssuedFiles {
        std::fs::create_dir_all(directory).expect("certificate directory");
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(names.to_vec()).expect("params");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("sign");
        let files = IssuedFiles {
            cert: directory.join("cert.pem"),
            key: directory.join("key.pem"),
            ca: directory.join("ca.pem"),
        };
        std::fs::write(&files.key, key.serialize_pem()).expect("write key");
        std::fs::write(&files.cert, cert.pem()).expect("write certificate");
        std::fs::write(&files.ca, self.cert.pem()).expect("write CA");
        files
    }

    /// The CA certificate alone, in `path`.
    pub fn write_ca(&self, path: &Path) {
        std::fs::write(path, self.cert.pem()).expect("write CA");
    }
}

/// Runs `redis-cli --tls --cacert <ca>` against `host:port` with `args`; stdout, trimmed, or the
/// error output.
pub fn redis_cli_tls(
    ca: &Path,
    host: &str,
    port: u16,
    extra: &[&str],
    args: &[&str],
) -> Result<String, String> {
    let output = std::process::Command::new("redis-cli")
        .arg("--tls")
        .arg("--cacert")
        .arg(ca)
        .args(["-h", host, "-p", &port.to_string()])
        .args(extra)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run redis-cli: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if output.status.success()
        && !stdout.starts_with("ERR")
        && !stdout.contains("Could not connect")
    {
        Ok(stdout)
    } else {
        Err(format!("{stdout} {stderr}"))
    }
}
