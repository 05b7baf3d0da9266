//! A custom operator built from the crates, with no Flux CRDs: it keeps a cluster equal to
//! one path of a Git branch.
//!
//! Each sync fetches the branch with gitops-git (nothing is downloaded while the branch has
//! not moved), checks the commit out, renders the path with the native kustomize, applies it
//! staged with prune through the apply engine, and waits until it is ready. Here the
//! repository is a local bare one (`file://`) and the cluster is testenv; any URL gitops-git
//! fetches (HTTPS, SSH with an `Auth`) and any `kube::Client` (`Client::try_default()`) work
//! the same. `cargo run --example embed_operator` prints each sync; `cargo test --example
//! embed_operator` runs it as a test.

use gitops::apply::testenv::TestEnv;
use gitops::apply::{ApplyOptions, ResourceManager, WaitOptions};
use gitops::core::api::Checkout;
use gitops::core::{Inventory, Revision, plan::Owner, render};
use gitops::git::Auth;
use gitops::git::disk::DiskFs;
use gitops::git::fetch::{FetchOptions, FetchOutcome, fetch};
use gitops::git::push::{Commit, PushOptions, Signature, push};

/// The operator's whole state: where to sync from, and what it applied last.
struct Operator {
    url: String,
    branch: String,
    path: String,
    manager: ResourceManager,
    inventory: Inventory,
    last: Option<Revision>,
}

impl Operator {
    /// One sync: `None` when the branch has not moved, else the revision and its changes.
    async fn sync(&mut self) -> anyhow::Result<Option<String>> {
        let options = FetchOptions::default().with_last(self.last.clone());
        let checkout = Checkout::Branch(self.branch.clone());
        let commit = match fetch(&self.url, &checkout, &Auth::none(), options).await? {
            FetchOutcome::Unchanged(_) => return Ok(None),
            FetchOutcome::Fetched(commit) => commit,
        };
        let tree = tempfile::tempdir()?;
        commit.checkout_to(tree.path(), None)?;
        let desired = render::build(&DiskFs::new(tree.path())?, &self.path)?;
        let applied = self
            .manager
            .apply_all_staged(desired, &self.inventory, &ApplyOptions::default())
            .await?;
        self.manager
            .wait_for_set(&applied.members(), &WaitOptions::default())
            .await?;
        self.inventory = applied.inventory;
        self.last = Some(commit.revision().clone());
        Ok(Some(format!("{}\n{}", commit.revision(), applied.changes)))
    }
}

const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: default\ndata:\n  greeting: hello\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  ports:\n  - port: 80\n";

async fn run() -> anyhow::Result<()> {
    gitops::git::fetch::install_crypto_provider();
    let env = TestEnv::start().await?;
    let dir = tempfile::tempdir()?;
    let bare = dir.path().join("fleet.git");
    let status = std::process::Command::new("git")
        .args(["init", "--quiet", "--bare", "--initial-branch=main"])
        .arg(&bare)
        .status()?;
    anyhow::ensure!(status.success(), "git init failed");
    let url = format!("file://{}", bare.display());
    let author = Signature::new("Operator example", "operator@example.invalid");
    let commit = |message: &str| Commit::new("main", message).with_author(author.clone());

    let mut operator = Operator {
        url: url.clone(),
        branch: "main".into(),
        path: "deploy".into(),
        manager: ResourceManager::new(env.client()?, Owner::new("web-operator", "default")),
        inventory: Inventory::default(),
        last: None,
    };
    let revisions = [
        commit("add web")
            .with_file("deploy/config.yaml", CONFIG)
            .with_file("deploy/service.yaml", SERVICE),
        commit("drop the web service").without_file("deploy/service.yaml"),
    ];
    for next in revisions {
        push(&url, &Auth::none(), &next, PushOptions::default()).await?;
        let synced = operator.sync().await?;
        anyhow::ensure!(synced.is_some(), "a new commit is applied");
        println!("{}\n", synced.unwrap_or_default());
        // Until the next commit, a sync downloads nothing and changes nothing.
        anyhow::ensure!(
            operator.sync().await?.is_none(),
            "an unmoved branch is a no-op"
        );
    }
    anyhow::ensure!(
        operator.inventory.entries.len() == 1,
        "the dropped Service is pruned: {:?}",
        operator.inventory.entries
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run().await
}

#[cfg(test)]
#[tokio::test]
async fn fetches_renders_applies_prunes_and_skips_unmoved_branches() {
    if let Err(e) = run().await {
        panic!("{e:#}");
    }
}
