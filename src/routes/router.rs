//! The route set as it is mounted: one resource per path (all its methods); the resources
//! that share a literal first segment (`/s3`) inside one scope, but for the largest such
//! group (`/v1`), which is mounted flat after the scopes, and for a segment that is a path
//! by itself (`/demo`, when the demo is on), whose paths stay flat too.
//!
//! actix tries resources in order and matches each dynamic path with a regex, twice per
//! request (the request-context middleware asks for the pattern before routing). All flat,
//! a request for the last Uppy route ran the regex of every `/v1/...{id}` route first;
//! behind a scope each other prefix costs it one string compare.

use crate::error::ApiError;
use actix_web::http::Method;
use actix_web::{
    FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder, Route, Scope, web,
};

/// `(method, path)` of every mounted route, in OpenAPI path syntax.
pub type RouteTable = Vec<(Method, String)>;

/// Collects routes by path, so that several methods on one path share one resource (and an
/// unlisted method gets 405 instead of falling through).
#[derive(Default)]
pub struct Router {
    paths: Vec<(String, Vec<Route>)>,
    table: RouteTable,
}

impl Router {
    pub fn route<F, Args>(&mut self, method: Method, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.table.push((method.clone(), path.to_string()));
        let route = web::method(method).to(handler);
        match self.paths.iter_mut().find(|(p, _)| p == path) {
            Some((_, routes)) => routes.push(route),
            None => self.paths.push((path.to_string(), vec![route])),
        }
        self
    }

    pub fn get<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::GET, path, handler)
    }

    pub fn post<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::POST, path, handler)
    }

    pub fn delete<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::DELETE, path, handler)
    }

    pub fn table(&self) -> &RouteTable {
        &self.table
    }

    /// The resources and scopes to hand to `App::service`, in the order the paths came.
    pub fn into_services(self) -> Vec<Mounted> {
        let (paths, routes): (Vec<String>, Vec<Vec<Route>>) = self.paths.into_iter().unzip();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let mut routes: Vec<Option<Vec<Route>>> = routes.into_iter().map(Some).collect();
        let mut take = |i: usize| routes[i].take().expect("each path is mounted once");
        plan(&refs)
            .into_iter()
            .map(|m| match m {
                Mount::Flat(i) => Mounted::Resource(resource(refs[i], take(i))),
                Mount::Scope(prefix, members) => {
                    let mut scope = web::scope(prefix);
                    for i in members {
                        scope = scope.service(resource(&refs[i][prefix.len()..], take(i)));
                    }
                    Mounted::Scope(scope)
                }
            })
            .collect()
    }
}

/// 405 with `Allow`: the methods the route table holds for the matched path.
async fn method_not_allowed(
    req: HttpRequest,
    table: Option<web::Data<RouteTable>>,
) -> Result<HttpResponse, ApiError> {
    let pattern = req.match_pattern().unwrap_or_default();
    let allow = table
        .map(|t| {
            t.iter()
                .filter(|(_, p)| *p == pattern)
                .map(|(m, _)| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Err(ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        allow,
    })
}

fn resource(path: &str, routes: Vec<Route>) -> Resource {
    routes.into_iter().fold(
        web::resource(path).default_service(web::to(method_not_allowed)),
        Resource::route,
    )
}

/// A resource or a scope of resources: both mount as one `HttpServiceFactory`.
pub enum Mounted {
    Resource(Resource),
    Scope(Scope),
}

impl actix_web::dev::HttpServiceFactory for Mounted {
    fn register(self, config: &mut actix_web::dev::AppService) {
        match self {
            Mounted::Resource(r) => r.register(config),
            Mounted::Scope(s) => s.register(config),
        }
    }
}

/// How one path (by its index) is mounted.
#[derive(Debug, PartialEq)]
enum Mount<'a> {
    Flat(usize),
    /// A literal first segment such as `/v1`, and the paths under it, in their order.
    Scope(&'a str, Vec<usize>),
}

/// Groups paths by a literal first segment. Paths with different literal first segments
/// never match the same request, so moving them next to each other keeps "the first
/// matching path wins" within each group, which is where it matters. A path whose first
/// segment is a pattern could match anything, so with one of those nothing is grouped; a
/// path that is only its first segment (`/healthz`) stays on its own, and so does every
/// path of a segment that is also a path by itself (the scope would take that request).
fn plan<'a>(paths: &[&'a str]) -> Vec<Mount<'a>> {
    fn first(path: &str) -> Option<(&str, bool)> {
        let rest = path.strip_prefix('/')?;
        let (seg, more) = match rest.find('/') {
            Some(n) => (&path[..n + 1], true),
            None => (path, false),
        };
        Some((seg, more))
    }
    let literal = |seg: &str| {
        seg.len() > 1
            && seg[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let segs: Vec<Option<(&'a str, bool)>> = paths.iter().map(|p| first(p)).collect();
    if segs
        .iter()
        .any(|s| !matches!(s, Some((seg, _)) if literal(seg)))
    {
        return (0..paths.len()).map(Mount::Flat).collect();
    }
    let alone = |seg: &str| segs.iter().flatten().any(|&(s, more)| s == seg && !more);
    let mut out: Vec<Mount<'a>> = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let (seg, more) = s.expect("checked above");
        if !more || alone(seg) {
            out.push(Mount::Flat(i));
            continue;
        }
        match out
            .iter_mut()
            .find(|m| matches!(m, Mount::Scope(p, _) if *p == seg))
        {
            Some(Mount::Scope(_, members)) => members.push(i),
            _ => out.push(Mount::Scope(seg, vec![i])),
        }
    }
    // The largest group goes last and flat: a scope costs each of its requests a second
    // recognise and a boxed future (about 1,500 instructions, callgrind), more than the few
    // prefix compares that the other scopes, mounted before it, add to its requests.
    let largest = out
        .iter()
        .enumerate()
        .filter_map(|(n, m)| match m {
            Mount::Scope(_, members) => Some((members.len(), std::cmp::Reverse(n))),
            Mount::Flat(_) => None,
        })
        .max()
        .map(|(_, std::cmp::Reverse(n))| n);
    let mut last = Vec::new();
    let mut mounts = Vec::with_capacity(out.len());
    for (n, m) in out.into_iter().enumerate() {
        match m {
            Mount::Scope(_, members) if Some(n) == largest => {
                last.extend(members.into_iter().map(Mount::Flat))
            }
            // One path under a prefix gains nothing from a scope.
            Mount::Scope(_, members) if members.len() == 1 => mounts.push(Mount::Flat(members[0])),
            m => mounts.push(m),
        }
    }
    mounts.extend(last);
    mounts
}

#[cfg(test)]
mod tests {
    use super::{Mount, plan};

    #[test]
    fn paths_are_grouped_by_literal_first_segment_and_the_largest_group_stays_flat() {
        let paths = [
            "/healthz",
            "/v1/uploads/presign",
            "/s3/params",
            "/v1/uploads/{id}",
            "/oss-callback",
            "/s3/multipart/{uploadId}/{partNumber}",
            "/v1/multipart/{id}",
            "/only/one",
        ];
        assert_eq!(
            plan(&paths),
            vec![
                Mount::Flat(0),
                Mount::Scope("/s3", vec![2, 5]),
                Mount::Flat(4),
                Mount::Flat(7),
                Mount::Flat(1),
                Mount::Flat(3),
                Mount::Flat(6),
            ]
        );
    }

    #[test]
    fn nothing_is_grouped_when_a_first_segment_is_a_pattern_or_a_path_itself() {
        let pattern = ["/v1/a", "/{any}/b", "/v1/c"];
        assert_eq!(
            plan(&pattern),
            vec![Mount::Flat(0), Mount::Flat(1), Mount::Flat(2)]
        );
        // A scope `/v1` would answer `/v1` itself with its default (404), not the route.
        let itself = [
            "/v1/a",
            "/v1",
            "/v1/c",
            "/s3/a",
            "/s3/b",
            "/demo/a",
            "/demo/b/c",
        ];
        assert_eq!(
            plan(&itself),
            vec![
                Mount::Flat(0),
                Mount::Flat(1),
                Mount::Flat(2),
                Mount::Scope("/demo", vec![5, 6]),
                Mount::Flat(3),
                Mount::Flat(4),
            ]
        );
        for odd in [
            &["/v1/a", "/v1/b", ""][..],
            &["/v1/a", "/v1/b", "/"][..],
            &["/v1/a", "/v1/b", "//x/y"][..],
            &["/v1/a", "/v1/b", "/%76%31/c"][..],
        ] {
            assert!(
                plan(odd).iter().all(|m| matches!(m, Mount::Flat(_))),
                "{odd:?}"
            );
        }
        // A segment that only starts like another is a group of its own.
        let near = ["/v1/a", "/v1.x/b", "/v1.x/c", "/v1/d", "/v1/e"];
        assert_eq!(
            plan(&near),
            vec![
                Mount::Scope("/v1.x", vec![1, 2]),
                Mount::Flat(0),
                Mount::Flat(3),
                Mount::Flat(4),
            ]
        );
    }
}
