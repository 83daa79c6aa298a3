//! The object-level contract suite of orch-store, run against the HTTP client and a live server:
//! "runs unchanged over HTTP" is tested, not assumed.

use orch_api::server::ServerConfig;
use orch_store::testkit::object as kit;

use crate::support::TestServer;

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let server = TestServer::start(ServerConfig::default()).await;
                kit::$name(server.store()).await;
                server.running.shutdown().await;
            }
        )*
    };
}

contract!(
    bootstrap_namespaces_exist,
    create_assigns_metadata_and_refuses_duplicates,
    generate_name_makes_unique_names,
    invalid_object_is_refused_with_field_paths,
    create_in_missing_namespace_is_not_found,
    update_with_stale_version_is_conflict,
    status_subresource_changes_only_status,
    patches_apply_and_respect_versions,
    finalizers_hold_deletion,
    delete_preconditions_are_checked,
    bound_pods_are_deleted_gracefully,
    binding_sets_node_only_once,
    list_filters_and_pages_consistently,
    watch_without_version_sends_initial_state_then_changes,
    watch_from_version_delivers_every_later_change_in_order,
    watch_selectors_turn_enter_and_leave_into_added_and_deleted,
    dry_run_writes_nothing,
    watch_versions_never_decrease,
    watch_of_unbound_pods_sees_them_leave_when_bound,
    create_keeps_node_status_and_resets_pod_status,
);
