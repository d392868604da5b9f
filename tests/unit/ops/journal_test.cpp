// The run journal, the stage-input hashes, resume points, the lock and history.
#include "fluxboot/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fluxboot/pipeline.hpp"
#include "fluxboot/stages.hpp"
#include "fluxboot/sha256.hpp"
#include "unit/ops/ops_test_util.hpp"

using namespace fluxboot;
using fluxboot::testing::OpsFixture;
using fluxboot::testing::read_file;
using fluxboot::testing::write_file;

namespace {

class NamedStage final : public Stage {
 public:
  explicit NamedStage(std::string n, bool fail = false) : name_(std::move(n)), fail_(fail) {}
  std::string_view name() const override { return name_; }
  std::string_view title() const override { return "test stage"; }
  std::string run(Context&) override {
    if (fail_) throw StageError("broke with token s3cr3t-value-123");
    return "done";
  }

 private:
  std::string name_;
  bool fail_;
};

std::vector<Stage*> pointers(const StageList& list) {
  std::vector<Stage*> v;
  for (const auto& s : list) v.push_back(s.get());
  return v;
}

}  // namespace

TEST(Sha256, MatchesTheStandardVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;
  for (int i = 0; i < 1000; ++i) h.update(std::string(1000, 'a'));
  EXPECT_EQ(h.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Journal, RoundTripsThroughJson) {
  ops::JournalState s;
  s.next_run = 3;
  s.stages["talos"] = {"ok", "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:01.000Z", 1000, "", "sha256:ab", 2};
  ops::RunRecord r;
  r.id = 2;
  r.command = "all --resume";
  r.exit_code = 1;
  r.stages.push_back({"talos", "failed", 5, "boom"});
  s.runs.push_back(r);
  auto back = ops::journal_from_json(ops::journal_to_json(s));
  EXPECT_EQ(back.next_run, 3);
  EXPECT_EQ(back.stages["talos"].inputs_hash, "sha256:ab");
  ASSERT_EQ(back.runs.size(), 1u);
  EXPECT_EQ(back.runs[0].command, "all --resume");
  EXPECT_EQ(back.runs[0].stages[0].error, "boom");
}

TEST(Journal, MissingFileIsEmptyAndCorruptFileIsAnInputError) {
  fluxboot::testing::TempDir tmp;
  EXPECT_TRUE(ops::load_journal(tmp.path()).runs.empty());
  write_file(tmp / ".fluxboot/state.json", "{not json");
  EXPECT_THROW(ops::load_journal(tmp.path()), InputError);
}

TEST(Journal, StateDirectoryIgnoresItselfAndJournalIsPrivate) {
  fluxboot::testing::TempDir tmp;
  ops::save_journal(tmp.path(), {});
  EXPECT_NE(read_file(tmp / ".fluxboot/.gitignore").find("*"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / ".fluxboot/state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Journal, RecordsEachStageAndTheRunWithRedactedErrors) {
  OpsFixture f;
  f.redactor.add("s3cr3t-value-123");
  StageList list;
  list.push_back(std::make_unique<NamedStage>("talos"));
  list.push_back(std::make_unique<NamedStage>("k8s", true));
  list.push_back(std::make_unique<NamedStage>("kubeconfig"));
  auto& ctx = f.ctx();
  int code = 0;
  {
    ops::RunJournal journal(ctx, "all");
    code = run_pipeline(ctx, pointers(list), &journal);
    journal.finish(code, pointers(list));
  }
  EXPECT_EQ(code, 1);
  auto s = ops::load_journal(f.repo);
  EXPECT_EQ(s.stages["talos"].outcome, "ok");
  EXPECT_EQ(s.stages["k8s"].outcome, "failed");
  EXPECT_EQ(s.stages.count("kubeconfig"), 0u);
  EXPECT_NE(s.stages["k8s"].error.find("<redacted>"), std::string::npos) << s.stages["k8s"].error;
  EXPECT_EQ(read_file(ops::journal_path(f.repo)).find("s3cr3t-value-123"), std::string::npos);
  ASSERT_EQ(s.runs.size(), 1u);
  EXPECT_EQ(s.runs[0].exit_code, 1);
  ASSERT_EQ(s.runs[0].stages.size(), 3u);
  EXPECT_EQ(s.runs[0].stages[2].outcome, "not run");
  EXPECT_EQ(s.stages["talos"].inputs_hash.rfind("sha256:", 0), 0u);
}

TEST(Journal, KeepsTheNewestFiftyRuns) {
  OpsFixture f;
  for (int i = 0; i < 55; ++i) {
    ops::RunJournal j(f.ctx(), "namespaces");
    j.finish(0);
  }
  auto s = ops::load_journal(f.repo);
  EXPECT_EQ(s.runs.size(), ops::JournalState::kMaxRuns);
  EXPECT_EQ(s.runs.back().id, 55);
}

TEST(StageInputs, EachStageSeesOnlyItsOwnFiles) {
  OpsFixture f;
  auto hash = [&](const char* stage) { return ops::stage_inputs(f.ctx(), stage).hash; };
  std::map<std::string, std::string> before;
  for (const auto& st : stages::all()) before[std::string(st->name())] = hash(std::string(st->name()).c_str());

  f.edit("kubernetes/apps/cert-manager/namespace.yaml", "name: cert-manager", "name: cert-manager\n  labels: {x: y}");
  EXPECT_NE(hash("namespaces"), before["namespaces"]);
  EXPECT_EQ(hash("talos"), before["talos"]);
  EXPECT_EQ(hash("resources"), before["resources"]);

  f.edit("talos/clusterconfig/home-k8s-worker-2.yaml", "debug: false", "debug: true");
  EXPECT_NE(hash("talos"), before["talos"]);
  EXPECT_EQ(hash("k8s"), before["k8s"]);  // k8s only talks to the controller

  const std::string crds = hash("crds");
  f.edit("bootstrap/helmfile.d/01-apps.yaml", "timeout: 600", "timeout: 900");
  EXPECT_NE(hash("apps"), before["apps"]);
  EXPECT_EQ(hash("crds"), crds);  // the other helmfile state is not a crds input
}

TEST(StageInputs, TransientFilesAndTheKubeconfigContentDoNotCount) {
  OpsFixture f;
  auto crds = ops::stage_inputs(f.ctx(), "crds").hash;
  auto kubeconfig = ops::stage_inputs(f.ctx(), "kubeconfig").hash;
  auto wait = ops::stage_inputs(f.ctx(), "wait").hash;
  // The values hand-off exists while a run is in progress.
  write_file(f.repo / "bootstrap/helmfile.d/00-crds.fluxboot-derived.yaml", "x");
  write_file(f.repo / "bootstrap/helmfile.d/cilium.fluxboot-values-abc.yaml", "x");
  EXPECT_EQ(ops::stage_inputs(f.ctx(), "crds").hash, crds);
  // The kubeconfig stage writes the kubeconfig: never its own input.
  const std::string kc = "clusters:\n- name: home\n  cluster: {server: 'https://127.0.0.11:6443'}\nusers:\n- name: a\n  user: {token: one}\n";
  write_file(f.repo / "kubeconfig", kc);
  EXPECT_EQ(ops::stage_inputs(f.ctx(), "kubeconfig").hash, kubeconfig);
  auto wait_with = ops::stage_inputs(f.ctx(), "wait").hash;
  EXPECT_NE(wait_with, wait);  // later stages: which cluster they talk to
  // A refetch with new credentials is the same cluster.
  write_file(f.repo / "kubeconfig", kc.substr(0, kc.find("token: one")) + "token: two}\n");
  EXPECT_EQ(ops::stage_inputs(f.ctx(), "wait").hash, wait_with);
}

TEST(StageInputs, ResourcesHashTheTemplatesEnvironmentButNeverStoreIt) {
  OpsFixture f;
  auto a = ops::stage_inputs(f.ctx(), "resources");
  f.options.env["GITHUB_DEPLOY_KEY"] = "very-secret-deploy-key";
  auto b = ops::stage_inputs(f.ctx(), "resources");
  EXPECT_NE(a.hash, b.hash);
  bool listed = false;
  for (const auto& item : b.items) {
    listed = listed || item == "env GITHUB_DEPLOY_KEY";
    EXPECT_EQ(item.find("very-secret"), std::string::npos);
  }
  EXPECT_TRUE(listed);
}

TEST(Resume, StartsAtTheFirstStageThatIsNotDone) {
  OpsFixture f;
  auto list = stages::all();
  auto all = pointers(list);
  auto& ctx = f.ctx();
  ops::JournalState s;
  EXPECT_EQ(ops::resume_point(ctx, s, all).stage, "talos");
  EXPECT_EQ(ops::resume_point(ctx, s, all).reason, "it has never run");
  for (auto* st : all) {
    std::string n(st->name());
    s.stages[n] = {"ok", "t0", "t1", 1, "", ops::stage_inputs(ctx, n).hash, 1};
  }
  EXPECT_TRUE(ops::resume_point(ctx, s, all).stage.empty());
  s.stages["crds"].outcome = "failed";
  EXPECT_EQ(ops::resume_point(ctx, s, all).stage, "crds");
  s.stages["crds"].outcome = "ok";
  s.stages["apps"].outcome = "running";  // the process died mid-stage
  EXPECT_EQ(ops::resume_point(ctx, s, all).stage, "apps");
  EXPECT_NE(ops::resume_point(ctx, s, all).reason.find("did not finish"), std::string::npos);
  s.stages["apps"].outcome = "ok";
  f.edit("kubernetes/apps/kube-system/namespace.yaml", "name: kube-system", "name: kube-system\n  labels: {a: b}");
  auto rp = ops::resume_point(ctx, s, all);
  EXPECT_EQ(rp.stage, "namespaces");
  EXPECT_NE(rp.reason.find("inputs changed"), std::string::npos);
}

TEST(Lock, SecondHolderIsRefusedNamingTheFirst) {
  fluxboot::testing::TempDir tmp;
  auto first = ops::RunLock::acquire(tmp.path(), "all");
  try {
    ops::RunLock::acquire(tmp.path(), "crds");
    FAIL() << "second lock was granted";
  } catch (const ops::LockedError& e) {
    EXPECT_EQ(static_cast<int>(e.code()), ops::kExitLocked);
    EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid())), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fluxboot all"), std::string::npos) << e.what();
  }
  first.reset();
  EXPECT_FALSE(std::filesystem::exists(ops::lock_path(tmp.path())));
  EXPECT_NO_THROW(ops::RunLock::acquire(tmp.path(), "crds"));
}

TEST(Lock, StaleLockIsTakenOverAndReported) {
  fluxboot::testing::TempDir tmp;
  write_file(tmp / ".fluxboot/lock", R"({"pid": 999999999, "host": "old-host", "started": "2025-01-01T00:00:00Z", "command": "all"})");
  std::optional<ops::LockOwner> stale;
  auto lock = ops::RunLock::acquire(tmp.path(), "all", &stale);
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->pid, 999999999);
  EXPECT_EQ(stale->host, "old-host");
  EXPECT_NE(read_file(ops::lock_path(tmp.path())).find(std::to_string(::getpid())), std::string::npos);
}

TEST(History, ShowsRunsNewestFirstWithFailuresAndTheResumePoint) {
  ops::JournalState s;
  ops::RunRecord a;
  a.id = 1;
  a.command = "all";
  a.started = "2025-01-31T12:00:00.000Z";
  a.finished = "2025-01-31T12:01:00.000Z";
  a.duration_ms = 60000;
  a.exit_code = 1;
  a.stages = {{"talos", "ok", 1000, ""}, {"k8s", "failed", 2000, "talosctl exited 1: PermissionDenied"}, {"kubeconfig", "not run", 0, ""}};
  ops::RunRecord b = a;
  b.id = 2;
  b.command = "all --resume";
  b.exit_code = 0;
  b.stages = {{"k8s", "ok", 1000, ""}};
  s.runs = {a, b};
  s.stages["k8s"] = {"ok", "", "2025-01-31T12:05:00.000Z", 1000, "", "h", 2};
  ops::ResumePoint rp{"kubeconfig", "it has never run"};
  std::string t = ops::render_history(s, 20, {"talos", "k8s", "kubeconfig"}, &rp);
  EXPECT_LT(t.find("all --resume"), t.find("exit 1")) << t;
  EXPECT_NE(t.find("k8s ✗"), std::string::npos) << t;
  EXPECT_NE(t.find("PermissionDenied"), std::string::npos) << t;
  EXPECT_NE(t.find("would start at kubeconfig: it has never run"), std::string::npos) << t;
  auto j = ops::history_json(s, 1, &rp);
  ASSERT_EQ(j["runs"].size(), 1u);
  EXPECT_EQ(j["runs"][0]["id"], 2);
  EXPECT_EQ(j["runs"][0]["result"], "ok");
  EXPECT_EQ(j["resume"]["stage"], "kubeconfig");
}
