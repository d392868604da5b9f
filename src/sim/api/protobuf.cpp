#include "sim/api/protobuf.hpp"

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>
#include <string>

#include "sim/api/util.hpp"

namespace fluxboot::sim::api {

using json = nlohmann::json;

namespace {

constexpr std::string_view kMagic{"k8s\0", 4};

struct Field {
  std::uint32_t number = 0;
  int wire = 0;
  std::uint64_t varint = 0;
  std::string_view bytes;
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  Field next() {
    Field f;
    std::uint64_t tag = varint();
    f.number = static_cast<std::uint32_t>(tag >> 3);
    f.wire = static_cast<int>(tag & 7);
    switch (f.wire) {
      case 0: f.varint = varint(); break;
      case 1: skip(8); break;
      case 2: {
        std::uint64_t len = varint();
        if (len > data_.size() - pos_) throw ProtobufError("truncated length-delimited field");
        f.bytes = data_.substr(pos_, static_cast<std::size_t>(len));
        pos_ += static_cast<std::size_t>(len);
        break;
      }
      case 5: skip(4); break;
      default: throw ProtobufError("unsupported protobuf wire type " + std::to_string(f.wire));
    }
    return f;
  }

 private:
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) throw ProtobufError("truncated varint");
      auto b = static_cast<unsigned char>(data_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    throw ProtobufError("varint too long");
  }
  void skip(std::size_t n) {
    if (n > data_.size() - pos_) throw ProtobufError("truncated fixed-width field");
    pos_ += n;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
};

using FieldFn = std::function<void(const Field&)>;

void each_field(std::string_view msg, const FieldFn& fn) {
  Reader r(msg);
  while (!r.done()) fn(r.next());
}

std::string str(const Field& f) { return std::string(f.bytes); }

void set_string(json& obj, const char* key, const Field& f) {
  if (!f.bytes.empty()) obj[key] = str(f);
}

// map<string, V> entries: 1 key, 2 value. Bytes values become base64 (JSON's []byte encoding).
void add_map_entry(json& map, const Field& f, bool bytes_value) {
  std::string key;
  std::string value;
  each_field(f.bytes, [&](const Field& e) {
    if (e.number == 1) key = str(e);
    if (e.number == 2) value = str(e);
  });
  if (!map.is_object()) map = json::object();
  map[key] = bytes_value ? base64_encode(value) : value;
}

std::string time_string(std::string_view msg) {
  std::int64_t seconds = 0;
  each_field(msg, [&](const Field& f) {
    if (f.number == 1) seconds = static_cast<std::int64_t>(f.varint);
  });
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

json owner_reference(std::string_view msg) {
  json ref = json::object();
  each_field(msg, [&](const Field& f) {
    switch (f.number) {
      case 1: set_string(ref, "kind", f); break;
      case 3: set_string(ref, "name", f); break;
      case 4: set_string(ref, "uid", f); break;
      case 5: set_string(ref, "apiVersion", f); break;
      case 6: ref["controller"] = f.varint != 0; break;
      case 7: ref["blockOwnerDeletion"] = f.varint != 0; break;
      default: break;
    }
  });
  return ref;
}

json object_meta(std::string_view msg) {
  json meta = json::object();
  each_field(msg, [&](const Field& f) {
    switch (f.number) {
      case 1: set_string(meta, "name", f); break;
      case 2: set_string(meta, "generateName", f); break;
      case 3: set_string(meta, "namespace", f); break;
      case 5: set_string(meta, "uid", f); break;
      case 6: set_string(meta, "resourceVersion", f); break;
      case 7:
        if (f.varint != 0) meta["generation"] = static_cast<std::int64_t>(f.varint);
        break;
      case 8: meta["creationTimestamp"] = time_string(f.bytes); break;
      case 11: add_map_entry(meta["labels"], f, false); break;
      case 12: add_map_entry(meta["annotations"], f, false); break;
      case 13: meta["ownerReferences"].push_back(owner_reference(f.bytes)); break;
      case 14: meta["finalizers"].push_back(str(f)); break;
      default: break;  // selfLink, deletion fields, managedFields: not needed for writes
    }
  });
  return meta;
}

json decode_secret(std::string_view raw) {
  json obj = json::object();
  each_field(raw, [&](const Field& f) {
    switch (f.number) {
      case 1: obj["metadata"] = object_meta(f.bytes); break;
      case 2: add_map_entry(obj["data"], f, true); break;
      case 3: set_string(obj, "type", f); break;
      case 4: add_map_entry(obj["stringData"], f, false); break;
      case 5: obj["immutable"] = f.varint != 0; break;
      default: break;
    }
  });
  return obj;
}

json decode_configmap(std::string_view raw) {
  json obj = json::object();
  each_field(raw, [&](const Field& f) {
    switch (f.number) {
      case 1: obj["metadata"] = object_meta(f.bytes); break;
      case 2: add_map_entry(obj["data"], f, false); break;
      case 3: add_map_entry(obj["binaryData"], f, true); break;
      case 4: obj["immutable"] = f.varint != 0; break;
      default: break;
    }
  });
  return obj;
}

json decode_namespace(std::string_view raw) {
  json obj = json::object();
  each_field(raw, [&](const Field& f) {
    switch (f.number) {
      case 1: obj["metadata"] = object_meta(f.bytes); break;
      case 2:
        each_field(f.bytes, [&](const Field& s) {
          if (s.number == 1) obj["spec"]["finalizers"].push_back(str(s));
        });
        break;
      case 3:
        each_field(f.bytes, [&](const Field& s) {
          if (s.number == 1 && !s.bytes.empty()) obj["status"]["phase"] = str(s);
        });
        break;
      default: break;
    }
  });
  return obj;
}

json decode_serviceaccount(std::string_view raw) {
  json obj = json::object();
  each_field(raw, [&](const Field& f) {
    switch (f.number) {
      case 1: obj["metadata"] = object_meta(f.bytes); break;
      case 2: {
        json ref = json::object();
        each_field(f.bytes, [&](const Field& r) {
          static constexpr std::array<const char*, 8> kNames = {
              "", "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"};
          if (r.number >= 1 && r.number <= 7) set_string(ref, kNames[r.number], r);
        });
        obj["secrets"].push_back(ref);
        break;
      }
      case 3: {
        json ref = json::object();
        each_field(f.bytes, [&](const Field& r) {
          if (r.number == 1) set_string(ref, "name", r);
        });
        obj["imagePullSecrets"].push_back(ref);
        break;
      }
      case 4: obj["automountServiceAccountToken"] = f.varint != 0; break;
      default: break;
    }
  });
  return obj;
}

json decode_delete_options(std::string_view raw) {
  json obj = json::object();
  each_field(raw, [&](const Field& f) {
    switch (f.number) {
      case 1: obj["gracePeriodSeconds"] = static_cast<std::int64_t>(f.varint); break;
      case 4: set_string(obj, "propagationPolicy", f); break;
      case 5: obj["dryRun"].push_back(str(f)); break;
      default: break;
    }
  });
  return obj;
}

}  // namespace

bool has_protobuf_envelope(std::string_view body) { return body.substr(0, 4) == kMagic; }

json decode_protobuf(std::string_view body) {
  if (!has_protobuf_envelope(body)) throw ProtobufError("missing k8s protobuf envelope");
  std::string api_version;
  std::string kind;
  std::string_view raw;
  try {
    each_field(body.substr(4), [&](const Field& f) {
      if (f.number == 1 && f.wire == 2) {
        each_field(f.bytes, [&](const Field& t) {
          if (t.number == 1) api_version = str(t);
          if (t.number == 2) kind = str(t);
        });
      } else if (f.number == 2 && f.wire == 2) {
        raw = f.bytes;
      }
    });
    json obj;
    if (kind == "Secret") {
      obj = decode_secret(raw);
    } else if (kind == "ConfigMap") {
      obj = decode_configmap(raw);
    } else if (kind == "Namespace") {
      obj = decode_namespace(raw);
    } else if (kind == "ServiceAccount") {
      obj = decode_serviceaccount(raw);
    } else if (kind == "DeleteOptions") {
      obj = decode_delete_options(raw);
    } else {
      throw ProtobufError("protobuf bodies of kind \"" + kind + "\" are not supported");
    }
    json out = {{"apiVersion", api_version}, {"kind", kind}};
    out.update(obj);
    return out;
  } catch (const json::exception& e) {
    throw ProtobufError(e.what());
  }
}

}  // namespace fluxboot::sim::api
