//! Key material of a real control plane, made with the `openssl` command: a CA, the API server's
//! serving certificate for 127.0.0.1 signed by it, and the key pair that signs and verifies
//! service-account tokens. Fresh per control plane; nothing here is a secret worth keeping.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ControlPlaneError;

/// Paths of the generated files.
#[derive(Debug, Clone)]
pub struct Certificates {
    pub ca_cert: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub service_account_key: PathBuf,
    pub service_account_public_key: PathBuf,
}

/// Writes the files into `dir` (which must exist).
pub fn generate(dir: &Path) -> Result<Certificates, ControlPlaneError> {
    let certs = Certificates {
        ca_cert: dir.join("ca.crt"),
        serving_cert: dir.join("apiserver.crt"),
        serving_key: dir.join("apiserver.key"),
        service_account_key: dir.join("sa.key"),
        service_account_public_key: dir.join("sa.pub"),
    };
    let ca_key = dir.join("ca.key");
    let csr = dir.join("apiserver.csr");
    let extensions = dir.join("apiserver.ext");
    // The service IP (first address of --service-cluster-ip-range) and the in-cluster names, as a
    // real serving certificate has them; clients here use 127.0.0.1.
    std::fs::write(
        &extensions,
        "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,\
         DNS:kubernetes.default,DNS:kubernetes.default.svc\n\
         basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n",
    )
    .map_err(|source| ControlPlaneError::Io {
        what: format!("writing {}", extensions.display()),
        source,
    })?;
    let p = |path: &Path| path.display().to_string();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=ringcache-e2e-ca",
        "-keyout",
        &p(&ca_key),
        "-out",
        &p(&certs.ca_cert),
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=kube-apiserver",
        "-keyout",
        &p(&certs.serving_key),
        "-out",
        &p(&csr),
    ])?;
    openssl(&[
        "x509",
        "-req",
        "-days",
        "3650",
        "-in",
        &p(&csr),
        "-CA",
        &p(&certs.ca_cert),
        "-CAkey",
        &p(&ca_key),
        "-CAcreateserial",
        "-extfile",
        &p(&extensions),
        "-out",
        &p(&certs.serving_cert),
    ])?;
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &p(&certs.service_account_key),
    ])?;
    openssl(&[
        "pkey",
        "-in",
        &p(&certs.service_account_key),
        "-pubout",
        "-out",
        &p(&certs.service_account_public_key),
    ])?;
    Ok(certs)
}

fn openssl(args: &[&str]) -> Result<(), ControlPlaneError> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .map_err(|source| ControlPlaneError::Io {
            what: "running openssl (apt-get install openssl)".to_owned(),
            source,
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ControlPlaneError::Certificates(format!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
