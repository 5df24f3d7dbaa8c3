//! Connection and server commands: PING ECHO HELLO AUTH SELECT QUIT RESET, CLIENT,
//! CONFIG, COMMAND, TIME, SHUTDOWN. They run on the home shard with the connection (or,
//! for CLIENT LIST/KILL and CONFIG RESETSTAT, on every shard).

use std::sync::atomic::Ordering::Relaxed;

use crate::cmd::keys::help;
use crate::cmd::{self, flag, Args, Ctx, Spec};
use crate::conn::Conn;
use crate::error::{CmdError, CmdResult};
use crate::num::parse_i64;
use crate::resp::Reply;

/// The Redis version busbar is compatible with (HELLO, INFO `redis_version`).
pub const REDIS_VERSION: &str = "7.2.4";

/// PING \[message\]
pub fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::Arity("ping".into()));
    }
    let subscribed = ctx
        .conn()
        .ok()
        .is_some_and(|c| !c.resp3 && c.subscriptions() > 0);
    if subscribed {
        // RESP2 subscribed mode answers with a push-style array.
        ctx.out.array_len(2);
        ctx.out.bulk(b"pong");
        ctx.out
            .bulk(if args.len() == 2 { args.get(1) } else { b"" });
    } else if args.len() == 2 {
        ctx.out.bulk(args.get(1));
    } else {
        ctx.out.simple("PONG");
    }
    Ok(())
}

/// ECHO message
pub fn echo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.out.bulk(args.get(1));
    Ok(())
}

/// Checks a password for `user` against `requirepass`.
fn check_password(ctx: &Ctx, user: &[u8], pass: &[u8]) -> CmdResult {
    let ok = user == b"default"
        && match &ctx.settings().requirepass {
            None => true,
            Some(p) => p.as_slice() == pass,
        };
    if ok {
        Ok(())
    } else {
        Err(CmdError::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ))
    }
}

/// AUTH \[username\] password
pub fn auth(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (user, pass) = if args.len() == 2 {
        (&b"default"[..], args.get(1))
    } else {
        (args.get(1), args.get(2))
    };
    if args.len() == 2 && ctx.settings().requirepass.is_none() {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    check_password(ctx, user, pass)?;
    ctx.conn()?.authenticated = true;
    ctx.out.ok();
    Ok(())
}

/// Validates a client name or library field: printable ASCII without spaces.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
pub fn hello(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut ver = None;
    if args.len() >= 2 {
        let v = parse_i64(args.get(1)).ok_or(CmdError::msg(
            "ERR Protocol version is not an integer or out of range",
        ))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        ver = Some(v);
    }
    // As Redis 7.0, each option acts when it is met: AUTH authenticates there (a wrong
    // password ends the command; a later bad option does not undo a good one), SETNAME
    // checks and sets the name there, even before authentication.
    let mut c = args.cursor(2);
    while let Some(opt) = c.next() {
        let more = c.remaining();
        if opt.eq_ignore_ascii_case(b"auth") && more >= 2 {
            let (user, pass) = (c.next_arg()?, c.next_arg()?);
            check_password(ctx, user, pass)?;
            ctx.conn()?.authenticated = true;
        } else if opt.eq_ignore_ascii_case(b"setname") && more >= 1 {
            let n = c.next_arg()?;
            if !valid_name(n) {
                return Err(CmdError::msg(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            ctx.conn()?.name = n.to_vec();
        } else {
            return Err(CmdError::owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(crate::num::cnum::c_str(opt))
            )));
        }
    }
    if !ctx.conn()?.authenticated {
        return Err(CmdError::msg("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(v) = ver {
        ctx.conn()?.resp3 = v == 3;
        ctx.out.resp3 = v == 3;
    }
    let id = ctx.conn()?.id;
    let proto = if ctx.conn()?.resp3 { 3 } else { 2 };
    let out = &mut ctx.out;
    out.map_len(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto);
    out.bulk(b"id");
    out.int(id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array_len(0);
    Ok(())
}

/// SELECT index
pub fn select(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = parse_i64(args.get(1)).ok_or(CmdError::NotInteger)?;
    if i32::try_from(db).is_err() {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if db < 0 || db as usize >= ctx.ks().databases() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.conn()?.db = db as usize;
    ctx.out.ok();
    Ok(())
}

/// QUIT
pub fn quit(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.conn()?.close_after_reply = true;
    ctx.out.ok();
    Ok(())
}

/// RESET
pub fn reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let needs_auth = ctx.settings().requirepass.is_some();
    ctx.home()?.unsubscribe_and_unwatch_all()?;
    let c = ctx.conn()?;
    c.db = 0;
    c.resp3 = false;
    c.name.clear();
    if needs_auth {
        c.authenticated = false;
    }
    ctx.out.resp3 = false;
    ctx.out.simple("RESET");
    Ok(())
}

/// TIME
pub fn time(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array_len(2);
    ctx.out.bulk(d.as_secs().to_string().as_bytes());
    ctx.out.bulk(d.subsec_micros().to_string().as_bytes());
    Ok(())
}

/// SHUTDOWN \[NOSAVE | SAVE\] \[NOW\] \[FORCE\] \[ABORT\]
pub fn shutdown(ctx: &mut Ctx, args: &Args) -> CmdResult {
    use crate::shard::snapshot::OnShutdown;
    let mut abort = false;
    let mut on_shutdown = OnShutdown::ByConfig;
    for opt in args.cursor(1) {
        let is = |word: &str| opt.eq_ignore_ascii_case(word.as_bytes());
        if is("abort") {
            abort = true;
        } else if is("nosave") {
            on_shutdown = OnShutdown::NoSave;
        } else if is("save") {
            on_shutdown = OnShutdown::Save;
        } else if !(is("now") || is("force")) {
            return Err(CmdError::Syntax);
        }
    }
    if abort {
        if args.len() > 2 {
            return Err(CmdError::Syntax);
        }
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    crate::log::warning("User requested shutdown...");
    ctx.shared().snapshots.set_on_shutdown(on_shutdown);
    ctx.shared().begin_shutdown();
    // No reply: the connection closes with the server, as Redis.
    ctx.conn()?.close_after_reply = true;
    Ok(())
}

/// CLIENT ID
pub fn client_id(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let id = ctx.conn()?.id;
    ctx.out.int(id as i64);
    Ok(())
}

/// CLIENT SETNAME connection-name
pub fn client_setname(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = args.get(2);
    if !valid_name(name) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    ctx.conn()?.name = name.to_vec();
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETNAME
pub fn client_getname(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let name = ctx.conn()?.name.clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
    Ok(())
}

/// CLIENT SETINFO <LIB-NAME libname | LIB-VER libver>
pub fn client_setinfo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (attr, value) = (args.get(2), args.get(3));
    let lib_name = attr.eq_ignore_ascii_case(b"lib-name");
    if !lib_name && !attr.eq_ignore_ascii_case(b"lib-ver") {
        return Err(CmdError::owned(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    }
    if !valid_name(value) {
        let what = if lib_name { "lib-name" } else { "lib-ver" };
        return Err(CmdError::owned(format!(
            "ERR {what} cannot contain spaces, newlines or special characters."
        )));
    }
    let c = ctx.conn()?;
    if lib_name {
        c.lib_name = value.to_vec();
    } else {
        c.lib_ver = value.to_vec();
    }
    ctx.out.ok();
    Ok(())
}

/// CLIENT INFO
pub fn client_info(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let now = ctx.now_ms();
    let mut line = ctx.conn()?.info_line(now);
    line.push('\n');
    ctx.out.verbatim(line.as_bytes());
    Ok(())
}

/// A CLIENT LIST / CLIENT KILL filter.
#[derive(Default)]
struct ClientFilter {
    ids: Option<Vec<u64>>,
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    user: Option<Vec<u8>>,
    /// `normal`, `pubsub`, `master`, `replica`.
    kind: Option<String>,
    skipme: bool,
}

impl ClientFilter {
    // `_now_ms` served the MAXAGE filter (gone: Redis 7.0 has none); kept so callers stay.
    fn matches(&self, c: &Conn, me: Option<u64>, _now_ms: u64) -> bool {
        if self.skipme && Some(c.id) == me {
            return false;
        }
        if let Some(ids) = &self.ids {
            if !ids.contains(&c.id) {
                return false;
            }
        }
        if let Some(a) = &self.addr {
            if c.addr.to_string().as_bytes() != a.as_slice() {
                return false;
            }
        }
        if let Some(a) = &self.laddr {
            if c.laddr.to_string().as_bytes() != a.as_slice() {
                return false;
            }
        }
        if let Some(u) = &self.user {
            if u.as_slice() != b"default" {
                return false;
            }
        }
        if let Some(k) = &self.kind {
            let kind = if c.subscriptions() > 0 {
                "pubsub"
            } else {
                "normal"
            };
            if k != kind {
                return false;
            }
        }
        true
    }
}

fn client_type(raw: &[u8]) -> CmdResult<String> {
    let t = String::from_utf8_lossy(raw).to_ascii_lowercase();
    match t.as_str() {
        "normal" | "pubsub" | "master" | "replica" | "slave" => {
            Ok(if t == "slave" { "replica".into() } else { t })
        }
        _ => Err(CmdError::owned(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(raw)
        ))),
    }
}

/// CLIENT LIST [TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]
/// — this shard's lines; the parts are concatenated.
pub fn client_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // As Redis 7.0: one filter only, TYPE with exactly its one word, ID with one or more
    // ids; anything else (both filters, TYPE with extra words) is a syntax error.
    let mut f = ClientFilter::default();
    if args.len() == 4 && args.is(2, "type") {
        f.kind = Some(client_type(args.get(3))?);
    } else if args.len() > 3 && args.is(2, "id") {
        let mut ids = Vec::new();
        for raw in args.cursor(3) {
            // Any integer is accepted (Redis's getLongLongFromObject); ids are never 0 or
            // negative, so those simply match nothing.
            let id = parse_i64(raw).ok_or(CmdError::msg("ERR Invalid client ID"))?;
            ids.push(u64::try_from(id).unwrap_or(0));
        }
        f.ids = Some(ids);
    } else if args.len() != 2 {
        return Err(CmdError::Syntax);
    }
    let now = ctx.now_ms();
    let mut text = String::new();
    let home = ctx.home()?;
    if let Some(c) = home.conn.as_deref() {
        if f.matches(c, None, now) {
            text.push_str(&c.info_line(now));
            text.push('\n');
        }
    }
    for c in home.conns() {
        if f.matches(c, None, now) {
            text.push_str(&c.info_line(now));
            text.push('\n');
        }
    }
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// Parses CLIENT KILL's arguments. `Ok(None)` = the old `ip:port` form.
fn kill_filter(args: &Args, me: u64) -> CmdResult<(ClientFilter, bool)> {
    if args.len() == 3 {
        let f = ClientFilter {
            addr: Some(args.get(2).to_vec()),
            ..Default::default()
        };
        let _ = me;
        return Ok((f, true));
    }
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut f = ClientFilter {
        skipme: true,
        ..Default::default()
    };
    let mut c = args.cursor(2);
    while let Some((filter, v)) = c.next_pair() {
        let is = |word: &str| filter.eq_ignore_ascii_case(word.as_bytes());
        if is("id") {
            let id = parse_i64(v)
                .filter(|&n| n > 0)
                .ok_or(CmdError::msg("ERR client-id should be greater than 0"))?;
            f.ids = Some(vec![id as u64]);
        } else if is("type") {
            f.kind = Some(client_type(v)?);
        } else if is("addr") {
            f.addr = Some(v.to_vec());
        } else if is("laddr") {
            f.laddr = Some(v.to_vec());
        } else if is("user") {
            f.user = Some(v.to_vec());
        } else if is("skipme") {
            f.skipme = if v.eq_ignore_ascii_case(b"yes") {
                true
            } else if v.eq_ignore_ascii_case(b"no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            // Redis 7.0 has no MAXAGE filter (7.4 added it): a syntax error, as any
            // unknown filter.
            return Err(CmdError::Syntax);
        }
    }
    Ok((f, false))
}

/// CLIENT KILL &lt;ip:port | &lt;filter&gt; value \[&lt;filter&gt; value ...\]&gt; — this shard's part: closes
/// matching connections here and replies how many. The home shard's coordinator turns the
/// old form's count into `+OK` / `ERR No such client`.
pub fn client_kill(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.now_ms();
    let mut home = ctx.home()?;
    let me = home.conn.as_deref().map(|c| c.id);
    let (f, _) = kill_filter(args, me.unwrap_or(0))?;
    let mut n = 0;
    if let Some(c) = home.conn.as_deref_mut() {
        if f.matches(c, me, now) {
            c.close_after_reply = true;
            n += 1;
        }
    }
    n += home.kill_where(|c| f.matches(c, me, now));
    ctx.out.int(n as i64);
    Ok(())
}

/// CLIENT KILL coordinator: validates, then runs the kill on every shard.
pub fn client_kill_coord(
    shard: &mut crate::shard::Shard,
    slot: usize,
    conn: &mut Conn,
    args: &Args,
    _out: &mut Vec<u8>,
) -> CmdResult {
    let (_, old_form) = kill_filter(args, conn.id)?;
    let spec = cmd::lookup_full("client|kill").expect("in table");
    let merge = if old_form {
        crate::conn::Merge::KillOld
    } else {
        crate::conn::Merge::Sum
    };
    shard.broadcast_merge(slot, conn, spec, args, merge);
    Ok(())
}

/// CLIENT UNBLOCK client-id [TIMEOUT | ERROR] — this shard's part (summed).
pub fn client_unblock(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // As Redis: more than one reason is CLIENT's generic subcommand error (the name as
    // typed, `%.128s`), and the reason is checked before the id.
    let as_error = match args.len() {
        3 => false,
        4 if args.is(3, "timeout") => false,
        4 if args.is(3, "error") => true,
        4 => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => {
            let sub = args.get(1);
            let sub = &sub[..memchr::memchr(0, sub).unwrap_or(sub.len()).min(128)];
            let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
            msg.extend_from_slice(sub);
            msg.extend_from_slice(b"'. Try CLIENT HELP.");
            return Err(CmdError::Bytes(msg));
        }
    };
    let id = args.int(2)?;
    let done = id > 0 && ctx.home()?.unblock_client(id as u64, as_error);
    ctx.out.int(done as i64);
    Ok(())
}

/// CLIENT HELP
pub fn client_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    help(
        &mut ctx.out,
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME.",
            "LIST [options ...]",
            "    Return information about client connections. Options: TYPE, ID.",
            "SETINFO <option> <value>",
            "    Set client meta attributes: LIB-NAME, LIB-VER.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
        ],
    );
    Ok(())
}

/// CONFIG GET parameter [parameter ...]
pub fn config_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let patterns: Vec<&[u8]> = args.iter().skip(2).collect();
    let mut pairs = ctx
        .shared()
        .config
        .read()
        .expect("config lock")
        .matching(&patterns);
    // `threads` is busbar's own parameter; report it when asked for by name or glob.
    if patterns
        .iter()
        .any(|p| crate::store::glob_match(p, b"threads", true))
    {
        pairs.push((
            "threads".into(),
            ctx.home()?.shards().to_string().into_bytes(),
        ));
    }
    ctx.out.map_len(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(&v);
    }
    Ok(())
}

/// CONFIG SET parameter value [parameter value ...]
pub fn config_set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() < 4 {
        return Err(CmdError::Arity("config|set".into()));
    }
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut c = args.cursor(2);
    let pairs: Vec<(&[u8], &[u8])> = std::iter::from_fn(|| c.next_pair()).collect();
    let shared = ctx.shared().clone();
    let mut cfg = shared.config.write().expect("config lock");
    cfg.set(&pairs).map_err(CmdError::Bytes)?;
    crate::log::set_level(cfg.get("loglevel"));
    drop(cfg);
    shared.config_epoch.fetch_add(1, Relaxed);
    // This shard applies it at once; the others at their next turn (or before running a
    // batch sent after this).
    ctx.home()?.reload_settings();
    ctx.out.ok();
    Ok(())
}

/// CONFIG RESETSTAT — this shard's counters.
pub fn config_resetstat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.home()?.reset_stats();
    ctx.out.ok();
    Ok(())
}

/// CONFIG HELP
pub fn config_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    help(
        &mut ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
        ],
    );
    Ok(())
}

/// Writes one COMMAND INFO entry.
fn write_command_info(out: &mut Reply, spec: &Spec) {
    out.array_len(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    let flags: Vec<&str> = flag::NAMES
        .iter()
        .filter(|(b, _)| spec.flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    out.set_len(flags.len());
    for f in flags {
        out.simple(f);
    }
    let (first, last, step) = if spec.keys.first > 0 {
        (spec.keys.first, spec.keys.last, spec.keys.step)
    } else {
        (0, 0, 0)
    };
    out.int(first as i64);
    out.int(last as i64);
    out.int(step as i64);
    out.set_len(spec.acl.len());
    for a in spec.acl {
        out.simple(a);
    }
    let (tips, key_specs) = (spec.tips, spec.key_specs);
    out.set_len(tips.len());
    for t in tips {
        out.bulk(t.as_bytes());
    }
    // Redis 7.0 writes the key specs as a set, and the subcommands as a set when there
    // are none (an array otherwise): RESP3 shows the difference.
    out.set_len(key_specs.len());
    for k in key_specs {
        out.map_len(3 + k.notes.is_some() as usize);
        if let Some(n) = k.notes {
            out.bulk(b"notes");
            out.bulk(n.as_bytes());
        }
        out.bulk(b"flags");
        out.set_len(k.flags.len());
        for f in k.flags {
            out.simple(f);
        }
        out.bulk(b"begin_search");
        out.map_len(2);
        out.bulk(b"type");
        if let Some((keyword, startfrom)) = k.begin_keyword {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map_len(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(startfrom);
        } else {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map_len(1);
            out.bulk(b"index");
            out.int(k.begin_index);
        }
        out.bulk(b"find_keys");
        out.map_len(2);
        out.bulk(b"type");
        if let Some((keynumidx, firstkey, keystep)) = k.keynum {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map_len(3);
            out.bulk(b"keynumidx");
            out.int(keynumidx);
            out.bulk(b"firstkey");
            out.int(firstkey);
            out.bulk(b"keystep");
            out.int(keystep);
        } else {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map_len(3);
            out.bulk(b"lastkey");
            out.int(k.lastkey);
            out.bulk(b"keystep");
            out.int(k.keystep);
            out.bulk(b"limit");
            out.int(k.limit);
        }
    }
    if spec.subs.is_empty() {
        out.set_len(0);
    } else {
        out.array_len(spec.subs.len());
    }
    for &id in spec.subs {
        write_command_info(out, cmd::spec_by_id(id));
    }
}

fn top_level() -> impl Iterator<Item = &'static Spec> {
    cmd::table().specs.iter().filter(|s| !s.name.contains('|'))
}

/// COMMAND — every command's info.
pub fn command(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 1 {
        // Containers resolve to a subcommand before reaching here.
        return Err(CmdError::Syntax);
    }
    let all: Vec<_> = top_level().collect();
    ctx.out.array_len(all.len());
    for s in all {
        write_command_info(&mut ctx.out, s);
    }
    Ok(())
}

/// COMMAND COUNT
pub fn command_count(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(top_level().count() as i64);
    Ok(())
}

/// COMMAND LIST
pub fn command_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Every command and subcommand (`client|list`), or those a filter keeps.
    let keep: Box<dyn Fn(&Spec) -> bool> = match args.len() {
        2 => Box::new(|_| true),
        5 if args.is(2, "filterby") => {
            let arg = args.get(4).to_vec();
            if args.is(3, "pattern") {
                Box::new(move |s: &Spec| crate::store::glob_match(&arg, s.name.as_bytes(), true))
            } else if args.is(3, "aclcat") {
                let cat = format!("@{}", String::from_utf8_lossy(&arg).to_ascii_lowercase());
                Box::new(move |s: &Spec| s.acl.iter().any(|c| *c == cat))
            } else if args.is(3, "module") {
                Box::new(|_| false) // no modules
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let names: Vec<&str> = cmd::table()
        .specs
        .iter()
        .filter(|s| keep(s))
        .map(|s| s.name)
        .collect();
    ctx.out.array_len(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// COMMAND INFO [command-name ...]
pub fn command_info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() == 2 {
        let all: Vec<_> = top_level().collect();
        ctx.out.array_len(all.len());
        for s in all {
            write_command_info(&mut ctx.out, s);
        }
        return Ok(());
    }
    let names = args.cursor(2);
    ctx.out.array_len(names.remaining());
    for name in names {
        match cmd::lookup_full(&String::from_utf8_lossy(name)) {
            Some(s) => write_command_info(&mut ctx.out, s),
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [command-name ...]
pub fn command_docs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let docs: Vec<&cmd::docs::CmdDoc> = if args.len() == 2 {
        cmd::docs::all().collect()
    } else {
        args.cursor(2)
            .filter_map(|name| cmd::docs::doc(&String::from_utf8_lossy(name).to_ascii_lowercase()))
            .collect()
    };
    ctx.out.map_len(docs.len());
    for d in docs {
        ctx.out.bulk(d.name.as_bytes());
        cmd::docs::write_doc(d, &mut ctx.out);
    }
    Ok(())
}

/// COMMAND GETKEYS command [arg [arg ...]]
pub fn command_getkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    command_keys(ctx, args, false)
}

/// COMMAND GETKEYSANDFLAGS command [arg [arg ...]]
pub fn command_getkeysandflags(ctx: &mut Ctx, args: &Args) -> CmdResult {
    command_keys(ctx, args, true)
}

/// The keys of the command line after `COMMAND GETKEYS[ANDFLAGS]`; with `flags`, each as a
/// pair of the key and the set of its key spec flags.
fn command_keys(ctx: &mut Ctx, args: &Args, flags: bool) -> CmdResult {
    let line = args.tail(2);
    // As Redis looks it up: a container named alone is itself (and has no keys); with
    // more arguments, its subcommand must exist.
    let spec = cmd::lookup(line.get(0)).and_then(|s| {
        if !s.is_container() || line.len() < 2 {
            return Some(s);
        }
        s.subs
            .iter()
            .map(|&id| cmd::spec_by_id(id))
            .find(|sub| sub.name.as_bytes()[s.name.len() + 1..].eq_ignore_ascii_case(line.get(1)))
    });
    let spec = spec.ok_or(CmdError::msg("ERR Invalid command specified"))?;
    let keys = cmd::getkeys::keys_of(spec, &line).map_err(|e| CmdError::msg(e.text()))?;
    ctx.out.array_len(keys.len());
    for k in keys {
        if flags {
            ctx.out.array_len(2);
            ctx.out.bulk(line.get(k.pos));
            ctx.out.set_len(k.flags.len());
            for f in k.flags {
                ctx.out.simple(f);
            }
        } else {
            ctx.out.bulk(line.get(k.pos));
        }
    }
    Ok(())
}

/// COMMAND HELP
pub fn command_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    help(
        &mut ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all commands.",
            "COUNT",
            "    Return the total number of commands in this server.",
            "LIST",
            "    Return a list of all commands in this server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and their access flags from a full command.",
        ],
    );
    Ok(())
}

/// LOLWUT [VERSION version [size ...]]
///
/// Redis's computer art. `VERSION 5` draws Georg Nees's "Schotter" in Braille dots
/// (`[columns [squares-per-row [squares-per-column]]]`), `VERSION 6` a skyline of grey
/// blocks (`[columns [rows]]`); any other version, or none, only names the Redis version.
/// As Redis, the version is read as a 64-bit integer of which only the low 32 bits count
/// (`VERSION 4294967301` is 5), sizes are clamped rather than refused, and arguments past
/// the sizes are ignored. The random choices come from the shard's generator.
pub fn lolwut(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut a = args.cursor(1);
    let version = if a.remaining() >= 2 && a.next_is("version") {
        Some(a.next_i64()? as u32)
    } else {
        None
    };
    let ks = ctx.ks();
    // Redis's `rand()`: 0 ..= RAND_MAX (2^31 - 1).
    let mut rand = || (ks.next_rand() >> 33) as i64;
    let mut text = Vec::new();
    match version {
        Some(5) => {
            let [cols, per_row, per_col] = lolwut_sizes(&mut a, [66, 8, 12])?;
            let canvas = Canvas::schotter(
                cols.clamp(1, 1000),
                per_row.clamp(1, 200),
                per_col.clamp(1, 200),
                &mut rand,
            );
            canvas.render_braille(&mut text);
            text.extend_from_slice(b"\nGeorg Nees - schotter, plotter on paper, 1968. ");
        }
        Some(6) => {
            let [cols, rows] = lolwut_sizes(&mut a, [80, 20])?;
            let mut canvas = Canvas::new(cols.clamp(1, 1000), rows.clamp(1, 1000), WHITE);
            canvas.skyline(&mut rand);
            canvas.render_shades(&mut text);
            text.extend_from_slice(
                b"\nDedicated to the 8 bit game developers of past and present.\n\
                  Original 8 bit image from Plaguemon by hikikomori. ",
            );
        }
        _ => {}
    }
    text.extend_from_slice(format!("Redis ver. {REDIS_VERSION}\n").as_bytes());
    ctx.out.verbatim(&text);
    Ok(())
}

/// The sizes after `LOLWUT VERSION v`, each an integer where given, else its default.
fn lolwut_sizes<const N: usize>(a: &mut cmd::ArgCursor, defaults: [i64; N]) -> CmdResult<[i64; N]> {
    let mut sizes = defaults;
    for size in sizes.iter_mut().take(a.remaining()) {
        *size = a.next_i64()?;
    }
    Ok(sizes)
}

/// The lightest of LOLWUT's four shades (0 is black).
const WHITE: u8 = 3;

/// LOLWUT's picture: `width` x `height` pixels of four shades, two bits each, so the
/// largest Schotter Redis allows (2000 x 399204 pixels) takes 200 MB rather than the 800
/// a byte per pixel would.
struct Canvas {
    width: i64,
    height: i64,
    shades: Vec<u8>,
}

/// One tower of the skyline: its left edge, size, shade, and whether it has windows.
struct Tower {
    left: i64,
    width: i64,
    height: i64,
    shade: u8,
    windows: bool,
}

impl Canvas {
    /// A canvas of one `shade`. Both sizes are at least 0 and bounded by LOLWUT's clamps.
    fn new(width: i64, height: i64, shade: u8) -> Canvas {
        let pixels = (width.max(0) * height.max(0)) as usize;
        Canvas {
            width,
            height,
            shades: vec![shade * 0b0101_0101; pixels.div_ceil(4)],
        }
    }

    /// The shade at (x, y); black outside the canvas.
    fn get(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 || x >= self.width || y >= self.height {
            return 0;
        }
        let i = (x + y * self.width) as usize;
        (self.shades[i / 4] >> (2 * (i % 4))) & 3
    }

    /// Paints (x, y); a point outside the canvas is dropped.
    fn set(&mut self, x: i64, y: i64, shade: u8) {
        if x < 0 || y < 0 || x >= self.width || y >= self.height {
            return;
        }
        let i = (x + y * self.width) as usize;
        let shift = 2 * (i % 4);
        let byte = &mut self.shades[i / 4];
        *byte = (*byte & !(3 << shift)) | ((shade & 3) << shift);
    }

    /// A straight line from `a` to `b`, both ends included (Bresenham's stepping: move in
    /// x, in y or in both, whichever keeps the accumulated error smallest).
    fn line(&mut self, a: (i64, i64), b: (i64, i64), shade: u8) {
        let (mut x, mut y) = a;
        let (dx, dy) = ((b.0 - x).abs(), (b.1 - y).abs());
        let step_x = if x < b.0 { 1 } else { -1 };
        let step_y = if y < b.1 { 1 } else { -1 };
        let mut error = dx - dy;
        loop {
            self.set(x, y, shade);
            if (x, y) == b {
                return;
            }
            let twice = 2 * error;
            if twice > -dy {
                error -= dy;
                x += step_x;
            }
            if twice < dx {
                error += dx;
                y += step_y;
            }
        }
    }

    /// The outline of a square of side `side` centred on (x, y), upright at `angle` 0 and
    /// turned by `angle` radians otherwise. Redis computes it in C's mix of `float` and
    /// `double`; the same mix here keeps the pixels where Redis puts them.
    fn square(&mut self, x: i64, y: i64, side: f32, angle: f32, shade: u8) {
        // Redis divides by √2 cut to ten decimals, not by `SQRT_2`; the digits it drops can
        // move a rounding, so they stay dropped here.
        #[allow(clippy::approx_constant)]
        const ROOT_2: f64 = 1.4142135623;
        // The distance from the centre to a corner, rounded to whole pixels.
        let reach = f64::from((f64::from(side) / ROOT_2) as f32).round();
        let mut turn = (std::f64::consts::FRAC_PI_4 + f64::from(angle)) as f32;
        let mut corners = [(0i64, 0i64); 4];
        for corner in &mut corners {
            let t = f64::from(turn);
            *corner = (
                (t.sin() * reach + x as f64).round() as i64,
                (t.cos() * reach + y as f64).round() as i64,
            );
            turn = (t + std::f64::consts::FRAC_PI_2) as f32;
        }
        for j in 0..4 {
            self.line(corners[j], corners[(j + 1) % 4], shade);
        }
    }

    /// Schotter ("gravel", Georg Nees, 1968): a grid of squares, `per_row` across a
    /// terminal `cols` wide and `per_col` down, that turn and slide more and more towards
    /// the bottom. Two pixels per column, as a Braille character is two dots wide.
    fn schotter(cols: i64, per_row: i64, per_col: i64, rand: &mut impl FnMut() -> i64) -> Canvas {
        const RAND_MAX: f32 = 2_147_483_647.0;
        let width = cols * 2;
        let margin = if width > 4 { 2 } else { 0 };
        let side = (width - 2 * margin) as f32 / per_row as f32;
        let height = (side * per_col as f32 + (2 * margin) as f32) as i64;
        let mut canvas = Canvas::new(width, height, 0);
        for row in 0..per_col {
            for col in 0..per_row {
                let mut x = (col as f32 * side + side / 2.0 + margin as f32) as i64;
                let mut y = (row as f32 * side + side / 2.0 + margin as f32) as i64;
                let mut angle = 0.0;
                if row > 1 {
                    // Three amounts growing with the row, each of a random sign: the turn
                    // and the slide across and down.
                    let mut amounts = [0.0f32; 3];
                    for a in &mut amounts {
                        *a = rand() as f32 / RAND_MAX / per_col as f32 * row as f32;
                    }
                    for a in &mut amounts {
                        if rand() % 2 == 1 {
                            *a = -*a;
                        }
                    }
                    angle = amounts[0];
                    x = (x as f32 + amounts[1] * side / 3.0) as i64;
                    y = (y as f32 + amounts[2] * side / 3.0) as i64;
                }
                canvas.square(x, y, side, angle, 1);
            }
        }
        canvas
    }

    /// A skyline at night: two rows of plain towers, the far ones lighter, then black ones
    /// with lit windows in front.
    fn skyline(&mut self, rand: &mut impl FnMut() -> i64) {
        let h = self.height;
        for shade in [2u8, 1] {
            let mut left = -10;
            while left < self.width {
                left += rand() % 8;
                let width = 10 + rand() % 9;
                let height = if shade == 2 {
                    h / 2 + rand() % h / 2
                } else {
                    h / 2 + rand() % h / 3
                };
                self.tower(
                    &Tower {
                        left,
                        width,
                        height,
                        shade,
                        windows: false,
                    },
                    rand,
                );
                left += if shade == 2 { width / 2 } else { width + 1 };
            }
        }
        let mut left = -10;
        while left < self.width {
            left += rand() % 8;
            let mut width = 5 + rand() % 14;
            if width % 4 != 0 {
                width += width % 3;
            }
            let height = h / 3 + rand() % h / 2;
            self.tower(
                &Tower {
                    left,
                    width,
                    height,
                    shade: 0,
                    windows: true,
                },
                rand,
            );
            left += width + 5;
        }
    }

    /// One tower standing on the bottom row, its roof two pixels narrower at each side.
    /// Windows, two pixels wide and one tall (a terminal cell is tall), sit on every other
    /// pair of columns and every other row of its inside, each lit in a random grey.
    fn tower(&mut self, t: &Tower, rand: &mut impl FnMut() -> i64) {
        let bottom = self.height - 1;
        let top = bottom - t.height + 1;
        let right = t.left + t.width;
        for y in (top..=bottom).rev() {
            for x in t.left..right {
                if y == top && (x <= t.left + 1 || x >= right - 2) {
                    continue;
                }
                let mut shade = t.shade;
                let inside = x > t.left + 1 && x < right - 2 && y > top + 1 && y < bottom - 1;
                if t.windows && inside {
                    let (across, down) = (x - (t.left + 1), y - (top + 1));
                    if across / 2 % 2 == 1 && down % 2 == 1 {
                        shade = loop {
                            let lit = 1 + (rand() % 2) as u8;
                            if lit != t.shade {
                                break lit;
                            }
                        };
                        // A window's second pixel takes its first one's grey.
                        if across % 2 == 1 {
                            shade = self.get(x - 1, y);
                        }
                    }
                }
                self.set(x, y, shade);
            }
        }
    }

    /// Each block of 2 x 4 pixels as one Braille character (U+2800 plus a bit per dot: dots
    /// 1-3 down the left column, 4-6 down the right, then 7 and 8 below them), rows of
    /// blocks on lines of their own.
    fn render_braille(&self, out: &mut Vec<u8>) {
        const DOTS: [(i64, i64); 8] = [
            (0, 0),
            (0, 1),
            (0, 2),
            (1, 0),
            (1, 1),
            (1, 2),
            (0, 3),
            (1, 3),
        ];
        for y in (0..self.height).step_by(4) {
            for x in (0..self.width).step_by(2) {
                let bits = DOTS
                    .iter()
                    .enumerate()
                    .filter(|(_, &(dx, dy))| self.get(x + dx, y + dy) != 0)
                    .fold(0u32, |b, (i, _)| b | 1 << i);
                let c = char::from_u32(0x2800 + bits).unwrap_or(' ');
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            // As Redis: a line break after every row of blocks but one ending on the last
            // pixel row.
            if y != self.height - 1 {
                out.push(b'\n');
            }
        }
    }

    /// Each pixel as a space on a terminal background (and foreground) colour of its shade.
    fn render_shades(&self, out: &mut Vec<u8>) {
        for y in 0..self.height {
            for x in 0..self.width {
                let colour: &[u8] = match self.get(x, y) {
                    0 => b"0;30;40m",
                    1 => b"0;90;100m",
                    2 => b"0;37;47m",
                    _ => b"0;97;107m",
                };
                out.extend_from_slice(b"\x1b[");
                out.extend_from_slice(colour);
                out.extend_from_slice(b" \x1b[0m");
            }
            if y != self.height - 1 {
                out.push(b'\n');
            }
        }
    }
}

/// SAVE: this shard's part of a snapshot (every shard runs it under whole-shard locks
/// held at once, `shard::snapshot`); the shard that completes the round writes the file.
pub fn save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let shared = std::sync::Arc::clone(ctx.shared());
    let (id, now) = (ctx.shard_id(), ctx.now_ms());
    let compress = ctx.settings().rdb_compression;
    if ctx.shared().snapshots.round_busy() {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    match crate::shard::snapshot::hand_in(&shared, id, ctx.ks(), now, compress, false) {
        Ok(_) => {
            ctx.out.ok();
            Ok(())
        }
        Err(e) => {
            crate::log::warning(&e);
            Err(CmdError::msg("ERR"))
        }
    }
}

/// BGREWRITEAOF: every shard writes a new base of its keys and starts a new incr file
/// at its next cron (between its own commands), switching its lines of the manifest.
pub fn bgrewriteaof(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    use std::sync::atomic::Ordering::Relaxed;
    let aof = &ctx.shared().aof;
    if aof.rewriting.load(Relaxed) > 0 || aof.rewrite_asked.iter().any(|a| a.load(Relaxed)) {
        return Err(CmdError::msg(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    for a in &aof.rewrite_asked {
        a.store(true, Relaxed);
    }
    // A background save walks: the rewrite follows it (the cron starts it then).
    if ctx.shared().snapshots.round_busy() {
        ctx.out
            .simple("Background append only file rewriting scheduled");
    } else {
        ctx.out
            .simple("Background append only file rewriting started");
    }
    Ok(())
}

/// BGSAVE \[SCHEDULE\]: every shard starts walking its keys into the snapshot while it
/// goes on serving (`shard::snapshot`); LASTSAVE moves once the file is complete.
pub fn bgsave(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 2 || (args.len() == 2 && !args.is(1, "schedule")) {
        return Err(CmdError::Syntax);
    }
    let rewriting = ctx
        .shared()
        .aof
        .rewriting
        .load(std::sync::atomic::Ordering::Relaxed)
        > 0;
    if args.len() == 2 && rewriting {
        // Started by this shard's cron once the rewrite's walk is done.
        let id = ctx.shard_id();
        ctx.shared().snapshots.start_asked[id].store(true, std::sync::atomic::Ordering::Relaxed);
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    ctx.bgsave_start()?;
    ctx.out.simple("Background saving started");
    Ok(())
}

/// LASTSAVE: Unix time of the last successful save.
pub fn lastsave(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let t = ctx
        .shared()
        .snapshots
        .last_save
        .load(std::sync::atomic::Ordering::Relaxed);
    ctx.out.int(t as i64);
    Ok(())
}
