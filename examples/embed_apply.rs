//! Embedding the apply engine in an operator, with no Flux CRDs: render a directory, apply it
//! with prune, wait for it to be ready. Here the cluster is testenv; any `kube::Client`
//! (`Client::try_default()`) works the same. `cargo run --example embed_apply` prints the
//! change sets; `cargo test --example embed_apply` runs it as a test.

use gitops::apply::testenv::TestEnv;
use gitops::apply::{ApplyOptions, ResourceManager, WaitOptions};
use gitops::core::{Inventory, plan::Owner, render};
use gitops::git::disk::DiskFs;

const APP: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n---
apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: demo\ndata:\n  greeting: hello\n---
apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: demo\nspec:\n  ports:\n  - port: 80\n";
const OLD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: demo\n";

async fn run() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let manager = ResourceManager::new(env.client()?, Owner::new("demo-operator", "default"));
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("app.yaml"), APP)?;
    std::fs::write(dir.path().join("old.yaml"), OLD)?;
    let mut inventory = Inventory::default();
    for removed in [None, Some("old.yaml")] {
        if let Some(file) = removed {
            std::fs::remove_file(dir.path().join(file))?; // the next revision drops it
        }
        let desired = render::build(&DiskFs::new(dir.path())?, ".")?;
        let applied = manager
            .apply_all_staged(desired, &inventory, &ApplyOptions::default())
            .await?;
        manager
            .wait_for_set(&applied.members(), &WaitOptions::default())
            .await?;
        println!("{}\n", applied.changes);
        inventory = applied.inventory;
    }
    anyhow::ensure!(inventory.entries.len() == 3, "the old objects are pruned");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run().await
}

#[cfg(test)]
#[tokio::test]
async fn renders_applies_prunes_and_waits() {
    if let Err(e) = run().await {
        panic!("{e:#}");
    }
}
