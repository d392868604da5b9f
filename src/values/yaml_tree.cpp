// A YAML document tree built from yaml-cpp's parser events. Two reasons not to use YAML::LoadAll:
// in yaml-cpp 0.7 it never returns on a stray ',' at document level (each round yields an empty
// document without consuming the token, until memory runs out), and its Node objects cost an
// allocation storm that dominated the value reader's profile.
#include <fmt/format.h>
#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <sstream>

#include "values/internal.hpp"

namespace fluxboot::values::detail {

namespace {

class Builder : public YAML::EventHandler {
 public:
  Builder(Tree& tree, const std::string& source) : tree_(tree), source_(source) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    // A document that starts where the previous one started made no progress: yaml-cpp is
    // stuck on a token it cannot place.
    if (started_ && mark.pos <= last_start_)
      throw InputError(
          fmt::format("{}:{}:{}: malformed YAML: unexpected character at the start of a document",
                      source_, mark.line + 1, mark.column + 1));
    started_ = true;
    last_start_ = mark.pos;
    doc_mark_ = mark;
    root_ = nullptr;
  }
  void OnDocumentEnd() override {
    if (root_ != nullptr && root_->kind != YNode::Kind::Null)
      tree_.docs.push_back(Doc{root_, root_->mark.line + 1});
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YNode* n = make(YNode::Kind::Null, mark, "", anchor);
    add(n);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end())
      throw InputError(fmt::format("{}:{}:{}: malformed YAML: unknown anchor", source_,
                                   mark.line + 1, mark.column + 1));
    add(it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YNode* n = make(YNode::Kind::Scalar, mark, tag, anchor);
    n->value = value;
    add(n);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    YNode* n = make(YNode::Kind::Sequence, mark, tag, anchor);
    add(n);
    stack_.push_back(n);
  }
  void OnSequenceEnd() override { stack_.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    YNode* n = make(YNode::Kind::Map, mark, tag, anchor);
    add(n);
    stack_.push_back(n);
  }
  void OnMapEnd() override { stack_.pop_back(); }

 private:
  YNode* make(YNode::Kind kind, const YAML::Mark& mark, const std::string& tag,
              YAML::anchor_t anchor) {
    tree_.arena.push_back(std::make_unique<YNode>());
    YNode* n = tree_.arena.back().get();
    n->kind = kind;
    n->mark = mark;
    n->tag = tag;
    if (anchor != YAML::NullAnchor)
      anchors_[anchor] = n;  // before its children: an alias inside may refer to it
    return n;
  }
  void add(const YNode* n) {
    if (stack_.empty()) {
      root_ = n;
    } else {
      stack_.back()->items.push_back(n);
    }
  }

  Tree& tree_;
  const std::string& source_;
  std::vector<YNode*> stack_;
  std::map<YAML::anchor_t, const YNode*> anchors_;
  const YNode* root_ = nullptr;
  YAML::Mark doc_mark_;
  bool started_ = false;
  int last_start_ = -1;
};

}  // namespace

Tree load_documents(const std::string& text, const std::string& source) {
  Tree tree;
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    Builder builder(tree, source);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) throw InputError(fmt::format("{}: malformed YAML: {}", source, e.msg));
    throw InputError(fmt::format("{}:{}:{}: malformed YAML: {}", source, e.mark.line + 1,
                                 e.mark.column + 1, e.msg));
  }
  return tree;
}

std::vector<YAML::Node> load_nodes(const std::string& text, const std::string& source) {
  load_documents(text, source);  // throws where LoadAll would fail or never return
  try {
    std::vector<YAML::Node> out;
    for (auto& n : YAML::LoadAll(text))
      if (n.IsDefined() && !n.IsNull()) out.push_back(n);
    return out;
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: malformed YAML: {}", source, e.msg));
  }
}

}  // namespace fluxboot::values::detail
