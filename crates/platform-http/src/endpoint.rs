//! One registration per endpoint: the route and its OpenAPI operation both come from
//! the handler's `#[utoipa::path]` annotation.

/// Registers a handler and its OpenAPI operation, both read from its `#[utoipa::path]`
/// annotation, for `OpenApiRouter::routes`:
///
/// ```text
/// OpenApiRouter::new().routes(endpoint!(handlers::register::<S>))
/// ```
///
/// utoipa-axum's `routes!` does the same for plain functions, but it finds the
/// annotation's generated type from the last token of the handler's path, so it cannot
/// take a handler with type parameters — and every handler generic over its store has
/// them. The handler is named by its module and its name, then its type arguments.
#[macro_export]
macro_rules! endpoint {
    ($module:ident :: $handler:ident $(:: <$($generic:ty),+ $(,)?>)?) => {{
        use $crate::__private::utoipa::Path as _;
        use $crate::__private::utoipa_axum::PathItemExt as _;
        $crate::__private::utoipa_axum::paste! {
            type Documented = $module::[<__path_ $handler>];
        }
        let mut schemas = ::std::vec::Vec::new();
        <Documented as $crate::__private::utoipa::__dev::SchemaReferences>::schemas(&mut schemas);
        let mut operation = Documented::operation();
        let tags = <Documented as $crate::__private::utoipa::__dev::Tags<'_>>::tags();
        if !tags.is_empty() {
            operation.tags.get_or_insert_with(::std::vec::Vec::new).extend(tags.iter().map(|tag| (*tag).to_owned()));
        }
        let methods = Documented::methods();
        let handler = $module::$handler $(::<$($generic),+>)?;
        let router = methods.iter().fold($crate::__private::axum::routing::MethodRouter::new(), |router, method| {
            router.on(method.to_method_filter(), handler.clone())
        });
        let mut paths = $crate::__private::utoipa::openapi::path::Paths::new();
        paths.add_path_operation(Documented::path(), methods, operation);
        (schemas, paths, router)
    }};
}
