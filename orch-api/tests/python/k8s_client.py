"""The official Kubernetes Python client against an orch API server.

Usage: python3 k8s_client.py KUBECONFIG
Lists, creates, patches, watches and deletes Pods and Deployments; exits non-zero on the
first thing that does not behave as Kubernetes would.
"""
import sys

from kubernetes import client, config, watch

NS = "default"


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def pod_manifest(name):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "py"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
    }


def deployment_manifest(name):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "busybox"}]},
            },
        },
    }


def main():
    config.load_kube_config(config_file=sys.argv[1])
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    pods = core.list_namespaced_pod(NS)
    check(pods.metadata.resource_version, "list pods returns a resourceVersion")
    start_rv = pods.metadata.resource_version

    created = core.create_namespaced_pod(NS, pod_manifest("py-pod"))
    check(created.metadata.uid and created.metadata.name == "py-pod", "create pod")

    patched = core.patch_namespaced_pod("py-pod", NS, {"metadata": {"labels": {"tier": "front"}}})
    check(patched.metadata.labels.get("tier") == "front", "patch pod (strategic merge)")

    listed = core.list_namespaced_pod(NS, label_selector="tier=front")
    check([p.metadata.name for p in listed.items] == ["py-pod"], "list pods by label selector")

    w = watch.Watch()
    seen = []
    for event in w.stream(core.list_namespaced_pod, NS, resource_version=start_rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) >= 2:
            w.stop()
    check(seen == [("ADDED", "py-pod"), ("MODIFIED", "py-pod")], f"watch pods from a version: {seen}")

    core.delete_namespaced_pod("py-pod", NS, grace_period_seconds=0)
    remaining = [p.metadata.name for p in core.list_namespaced_pod(NS).items]
    check("py-pod" not in remaining, "delete pod")

    dep = apps.create_namespaced_deployment(NS, deployment_manifest("py-web"))
    check(dep.spec.replicas == 2, "create deployment")
    apps.patch_namespaced_deployment("py-web", NS, {"spec": {"replicas": 3}})
    check(apps.read_namespaced_deployment("py-web", NS).spec.replicas == 3, "patch deployment")
    scale = apps.read_namespaced_deployment_scale("py-web", NS)
    check(scale.spec.replicas == 3, "read deployment scale")
    names = [d.metadata.name for d in apps.list_namespaced_deployment(NS).items]
    check("py-web" in names, "list deployments")

    w = watch.Watch()
    kinds = []
    for event in w.stream(apps.list_namespaced_deployment, NS, timeout_seconds=5):
        kinds.append((event["type"], event["object"].metadata.name))
        if event["object"].metadata.name == "py-web":
            w.stop()
    check(("ADDED", "py-web") in kinds, "watch deployments (initial state)")

    apps.delete_namespaced_deployment("py-web", NS)
    try:
        apps.read_namespaced_deployment("py-web", NS)
        check(False, "read of a deleted deployment fails")
    except client.exceptions.ApiException as e:
        check(e.status == 404, "read of a deleted deployment is 404")
    print("all checks passed")


if __name__ == "__main__":
    main()
