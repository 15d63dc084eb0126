//! The real `kubectl` against the API stand-in through a kubeconfig: apply the CRD and the example
//! CacheCluster, `get cc`, `scale`, server-side apply, `delete`; `--as` under RBAC. Skipped (with a message) when no
//! kubectl is found: `RINGCACHE_KUBECTL`, then `$HOME/.cache/ringcache/bin/kubectl`, then `PATH`.

mod common;

use common::{cache_clusters, fast, repo_root, start};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use ringcache_e2e::apiserver::KubeUser;
use std::path::{Path, PathBuf};
use std::process::Command;

fn find_kubectl() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RINGCACHE_KUBECTL") {
        return Some(PathBuf::from(path));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let cached = Path::new(&home).join(".cache/ringcache/bin/kubectl");
        if cached.is_file() {
            return Some(cached);
        }
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
}

struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Kubectl {
    /// Runs kubectl off the async runtime (the stand-in serves on the runtime's other threads).
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = Command::new(&self.binary);
        cmd.args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--request-timeout=20s")
            .current_dir(repo_root())
            // A private HOME keeps kubectl's discovery cache out of the user's.
            .env("HOME", &self.home)
            .env_remove("KUBECONFIG");
        let output = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("kubectl task")
            .expect("kubectl runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        println!("$ kubectl {}\n{stdout}{stderr}", args.join(" "));
        (output.status.success(), stdout, stderr)
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args).await;
        assert!(ok, "kubectl {} failed:\n{stdout}\n{stderr}", args.join(" "));
        stdout
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_get_scale_delete() {
    let Some(binary) = find_kubectl() else {
        println!("SKIPPED: no kubectl (set RINGCACHE_KUBECTL or run scripts/install-deps.sh)");
        return;
    };
    let (server, client) = start(fast()).await;
    let home = std::env::temp_dir().join(format!(
        "ringcache-kubectl-{}-{}",
        std::process::id(),
        server.addr().port()
    ));
    std::fs::create_dir_all(&home).unwrap();
    let kubeconfig = home.join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig, &KubeUser::Admin)
        .unwrap();
    let kubectl = Kubectl {
        binary,
        kubeconfig,
        home: home.clone(),
    };

    let version = kubectl.ok(&["version", "-o", "json"]).await;
    assert!(version.contains("v1.37.0-ringcache-standin"), "{version}");

    let out = kubectl
        .ok(&["apply", "-f", "crds/cacheclusters.cache.ringcache.dev.yaml"])
        .await;
    assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/cacheclusters.cache.ringcache.dev created"), "{out}");
    let out = kubectl
        .ok(&["apply", "-f", "examples/cachecluster.yaml"])
        .await;
    assert!(
        out.contains("cachecluster.cache.ringcache.dev/demo created"),
        "{out}"
    );

    let out = kubectl.ok(&["get", "cc"]).await;
    let mut lines = out.lines();
    let header = lines.next().unwrap_or("");
    assert!(
        header.starts_with("NAME") && header.contains("DESIRED") && header.contains("AGE"),
        "{out}"
    );
    let row = lines.next().unwrap_or("");
    assert!(
        row.starts_with("demo") && row.split_whitespace().nth(1) == Some("3"),
        "{out}"
    );

    let out = kubectl.ok(&["scale", "cc/demo", "--replicas=5"]).await;
    assert!(
        out.contains("cachecluster.cache.ringcache.dev/demo scaled"),
        "{out}"
    );
    let demo = cache_clusters(&client, "default")
        .get("demo")
        .await
        .unwrap();
    assert_eq!(demo.data["spec"]["replicas"], serde_json::json!(5));
    let out = kubectl
        .ok(&[
            "get",
            "cc",
            "demo",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.generation}",
        ])
        .await;
    assert_eq!(out.trim(), "5 2");

    let manifest = home.join("cm.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  labels:\n    app: demo\ndata:\n  k: v\n",
    )
    .unwrap();
    let manifest = manifest.to_str().unwrap().to_string();
    let out = kubectl
        .ok(&["apply", "--server-side", "-f", &manifest])
        .await;
    assert!(out.contains("configmap/ssa serverside-applied"), "{out}");
    let cm = Api::<ConfigMap>::namespaced(client.clone(), "default")
        .get("ssa")
        .await
        .unwrap();
    assert_eq!(
        cm.metadata.managed_fields.unwrap()[0].manager.as_deref(),
        Some("kubectl")
    );
    let out = kubectl
        .ok(&["get", "configmaps", "-l", "app=demo", "-o", "name"])
        .await;
    assert_eq!(out.trim(), "configmap/ssa");

    let out = kubectl.ok(&["delete", "cc", "demo"]).await;
    assert!(
        out.contains("cachecluster.cache.ringcache.dev \"demo\" deleted"),
        "{out}"
    );
    let (_, out, err) = kubectl.run(&["get", "cc"]).await;
    assert!(
        out.trim().is_empty() && err.contains("No resources found"),
        "{out}{err}"
    );

    let (ok, _, err) = kubectl.run(&["get", "pods", "nope"]).await;
    assert!(!ok && err.contains("pods \"nope\" not found"), "{err}");

    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&home);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_impersonation_under_rbac() {
    let Some(binary) = find_kubectl() else {
        println!("SKIPPED: no kubectl (set RINGCACHE_KUBECTL or run scripts/install-deps.sh)");
        return;
    };
    // kubectl sends no bearer token over plain HTTP: it comes in as the anonymous user (the admin
    // here) and acts as the service account with --as.
    let options = ringcache_e2e::apiserver::ApiServerOptions {
        rbac: true,
        anonymous: Some(KubeUser::Admin),
        ..fast()
    };
    let (server, _client) = start(options).await;
    let home = std::env::temp_dir().join(format!(
        "ringcache-kubectl-{}-{}",
        std::process::id(),
        server.addr().port()
    ));
    std::fs::create_dir_all(&home).unwrap();
    let kubeconfig = home.join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig, &KubeUser::Admin)
        .unwrap();
    let kubectl = Kubectl {
        binary,
        kubeconfig,
        home: home.clone(),
    };
    let rbac = home.join("rbac.yaml");
    std::fs::write(
        &rbac,
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: default}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: op, namespace: default}
"#,
    )
    .unwrap();
    kubectl.ok(&["apply", "-f", rbac.to_str().unwrap()]).await;
    let sa = "--as=system:serviceaccount:default:op";
    // (`kubectl auth can-i` sends protobuf, which the stand-in does not read; kube clients can post
    // SelfSubjectAccessReviews as JSON, see apiserver_rbac.rs.)
    let out = kubectl.ok(&["get", "configmaps", sa]).await;
    assert!(out.trim().is_empty(), "{out}");
    let (ok, _, err) = kubectl.run(&["get", "secrets", sa]).await;
    assert!(
        !ok && err.contains("cannot list resource \"secrets\""),
        "{err}"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&home);
}
