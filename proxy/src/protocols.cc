#include "protocols.h"

#include "memcached/memcached_protocol.h"
#include "redis/redis_protocol.h"

namespace ringleader::proxy {

Result<std::unique_ptr<Protocol>> make_protocol(config::Protocol protocol) {
  switch (protocol) {
    case config::Protocol::kRedis:
      return std::unique_ptr<Protocol>(std::make_unique<redis::RedisProtocol>());
    case config::Protocol::kMemcached:
      return std::unique_ptr<Protocol>(std::make_unique<memcached::MemcachedProtocol>());
  }
  return Status::error("unknown proxy.protocol");
}

}  // namespace ringleader::proxy
