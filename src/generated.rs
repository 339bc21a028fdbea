//! What every generated module would otherwise spell out again: the trait impls of its `Error`
//! and the methods its builder and client share with every other provider's. Generated code
//! states what is particular to its provider (the types, their documentation, the descriptor)
//! and invokes these macros for the rest, so a spec change shows in review as a change of that
//! provider's facts, and consumers compile the shared code once per provider as small
//! expansions. Part of the contract between the generator and the runtime
//! (`__private::CONTRACT`).

/// The impls of a provider's `Error`: `runtime()`, `From<tokenspec::Error>` (a documented
/// error by its index, else the RFC 6749 §5.2 code, else `Other`), the way back, `Display`
/// and `std::error::Error`. `variants` lists every variant but `Other`; `documented`, the
/// provider's documented errors in spec order. Every RFC 6749 code's variant exists, as the
/// standard one or as a documented error of the same name.
#[doc(hidden)]
#[macro_export]
macro_rules! __tokenspec_provider_error {
    ($error:ident, [$($variant:ident),* $(,)?], [$($documented:ident),* $(,)?]) => {
        impl $error {
            /// The runtime error underneath, with the HTTP status and the provider's message.
            pub fn runtime(&self) -> &$crate::Error {
                match self {
                    $(Self::$variant(e) => e,)*
                    Self::Other(e) => e,
                }
            }
        }

        impl ::std::convert::From<$crate::Error> for $error {
            fn from(error: $crate::Error) -> Self {
                // The provider's documented errors, by the name the descriptor gives each.
                let documented: &[(&str, fn($crate::Error) -> Self)] =
                    &[$((::std::stringify!($documented), Self::$documented)),*];
                if let ::std::option::Option::Some((_, make)) = error
                    .known_error()
                    .and_then(|name| documented.iter().find(|(known, _)| *known == name))
                {
                    return make(error);
                }
                match error.code() {
                    ::std::option::Option::Some("invalid_request") => Self::InvalidRequest(error),
                    ::std::option::Option::Some("invalid_client") => Self::InvalidClient(error),
                    ::std::option::Option::Some("invalid_grant") => Self::InvalidGrant(error),
                    ::std::option::Option::Some("unauthorized_client") => {
                        Self::UnauthorizedClient(error)
                    }
                    ::std::option::Option::Some("unsupported_grant_type") => {
                        Self::UnsupportedGrantType(error)
                    }
                    ::std::option::Option::Some("invalid_scope") => Self::InvalidScope(error),
                    _ => Self::Other(error),
                }
            }
        }

        /// The runtime error underneath, for code that mixes this module's calls with the
        /// runtime's (`?` on both in one function).
        impl ::std::convert::From<$error> for $crate::Error {
            fn from(error: $error) -> Self {
                error.runtime().clone()
            }
        }

        /// Shows the runtime error's message; its cause is `source()`, so reporters that walk
        /// the chain print each message once.
        impl ::std::fmt::Display for $error {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self.runtime(), f)
            }
        }

        impl ::std::error::Error for $error {
            fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
                ::std::error::Error::source(self.runtime())
            }
        }
    };
}

/// The builder methods every provider's builder has: the environment, the client id and the
/// settings closure; with `secret`, those that read the client secret from the environment or
/// a file.
#[doc(hidden)]
#[macro_export]
macro_rules! __tokenspec_builder_basics {
    ($builder:ident, $environment:ident, secret) => {
        $crate::__tokenspec_builder_basics!($builder, $environment);

        impl $builder {
            /// Reads the client secret from the environment variable `var` (a trailing newline
            /// trimmed). `build()` fails, naming the variable, if it is unset, empty or not
            /// UTF-8.
            pub fn client_secret_from_env(mut self, var: &str) -> Self {
                self.settings = self.settings.client_secret_from_env(var);
                self
            }

            /// Reads the client secret from the file at `path`, as Docker and Kubernetes mount
            /// secrets (a trailing newline trimmed). `build()` fails, naming the file, if it
            /// cannot be read or is empty.
            pub fn client_secret_from_file(
                mut self,
                path: impl ::std::convert::AsRef<::std::path::Path>,
            ) -> Self {
                self.settings = self.settings.client_secret_from_file(path);
                self
            }
        }
    };
    ($builder:ident, $environment:ident) => {
        impl $builder {
            /// Chooses where token requests go.
            pub fn environment(mut self, environment: $environment) -> Self {
                self.environment = ::std::option::Option::Some(environment);
                self
            }

            /// Sets the client id the provider issued. Required.
            pub fn client_id(
                mut self,
                client_id: impl ::std::convert::Into<::std::string::String>,
            ) -> Self {
                self.settings = self.settings.client_id(client_id);
                self
            }

            /// Changes how the client talks to the token endpoint (HTTP client, timeouts,
            /// refresh margin, base URL override, clock); see [`::tokenspec::Settings`].
            pub fn settings(
                mut self,
                configure: impl ::std::ops::FnOnce($crate::Settings) -> $crate::Settings,
            ) -> Self {
                self.settings = configure(self.settings);
                self
            }
        }
    };
}

/// The client methods every provider's client has: `builder()` and `runtime()`; with
/// `cached $response`, those of a client with its own cached token (`token_response()`,
/// `invalidate()`) as well.
#[doc(hidden)]
#[macro_export]
macro_rules! __tokenspec_client_basics {
    ($client:ident, $builder:ident) => {
        impl $client {
            /// Starts configuring a client.
            pub fn builder() -> $builder {
                <$builder as ::std::default::Default>::default()
            }

            /// The runtime client underneath, for what the typed surface does not cover.
            pub fn runtime(&self) -> &$crate::TokenClient {
                &self.runtime
            }

            /// Replaces the client secret of this live client and its clones (an operator
            /// rotated it): the next token request uses it, requests in flight finish with the
            /// old one, and cached tokens stay valid. See
            /// [`TokenClient::replace_client_secret`]($crate::TokenClient::replace_client_secret).
            pub fn replace_client_secret(
                &self,
                secret: impl ::std::convert::Into<$crate::SecretString>,
            ) {
                self.runtime.replace_client_secret(secret);
            }
        }
    };
    ($client:ident, $builder:ident, $error:ident, cached $response:ident) => {
        $crate::__tokenspec_client_basics!($client, $builder);

        impl $client {
            /// The cached token with the typed fields of the answer it came in.
            pub async fn token_response(&self) -> ::std::result::Result<$response, $error> {
                ::std::result::Result::Ok(self.runtime.cached_response().await?)
            }

            /// Drops `token` from the cache if it is still the current one (an API rejected
            /// it); the next call fetches a new one.
            pub fn invalidate(&self, token: &$crate::Token) {
                self.runtime.invalidate(token);
            }
        }

        /// The client's app token for the HTTP stack integrations (reqwest-middleware, tower).
        impl ::std::convert::From<$client> for $crate::Authorizer {
            fn from(client: $client) -> Self {
                $crate::Authorizer::from(client.runtime)
            }
        }

        /// The client's app token for the HTTP stack integrations (reqwest-middleware, tower).
        impl ::std::convert::From<&$client> for $crate::Authorizer {
            fn from(client: &$client) -> Self {
                $crate::Authorizer::from(&client.runtime)
            }
        }
    };
}
