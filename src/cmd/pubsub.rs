//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB. They
//! run on the subscriber's or publisher's home shard; fanout goes through
//! `Shard::publish` and the registry in `pubsub`.

use crate::cmd::keys::help;
use crate::cmd::{Args, Ctx};
use crate::error::CmdResult;
use crate::pubsub::Kind;

fn kind_words(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Channel => ("subscribe", "unsubscribe"),
        Kind::Pattern => ("psubscribe", "punsubscribe"),
        Kind::Shard => ("ssubscribe", "sunsubscribe"),
    }
}

/// The count a (un)subscribe confirmation carries: channels + patterns, or shard channels
/// alone for the sharded namespace (as Redis 7).
fn sub_count(ctx: &mut Ctx, kind: Kind) -> CmdResult<i64> {
    let c = ctx.conn()?;
    Ok(match kind {
        Kind::Shard => c.ssubs.len() as i64,
        _ => (c.subs.len() + c.psubs.len()) as i64,
    })
}

fn confirm(ctx: &mut Ctx, word: &str, name: Option<&[u8]>, count: i64) {
    ctx.out.push_len(3);
    ctx.out.bulk(word.as_bytes());
    match name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    ctx.out.int(count);
}

fn subscribe_generic(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let (word, _) = kind_words(kind);
    for name in args.cursor(1) {
        ctx.home()?.subscribe(kind, name)?;
        let n = sub_count(ctx, kind)?;
        confirm(ctx, word, Some(name), n);
    }
    Ok(())
}

fn unsubscribe_generic(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let (_, word) = kind_words(kind);
    let names: Vec<Box<[u8]>> = if args.len() > 1 {
        args.cursor(1).map(Box::from).collect()
    } else {
        ctx.conn()?.subscriptions_of(kind).iter().cloned().collect()
    };
    if names.is_empty() {
        let n = sub_count(ctx, kind)?;
        confirm(ctx, word, None, n);
        return Ok(());
    }
    for name in names {
        ctx.home()?.unsubscribe(kind, &name)?;
        let n = sub_count(ctx, kind)?;
        confirm(ctx, word, Some(&name), n);
    }
    Ok(())
}

/// SUBSCRIBE channel [channel ...]
pub fn subscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Channel)
}

/// UNSUBSCRIBE [channel [channel ...]]
pub fn unsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Channel)
}

/// PSUBSCRIBE pattern [pattern ...]
pub fn psubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Pattern)
}

/// PUNSUBSCRIBE [pattern [pattern ...]]
pub fn punsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Pattern)
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
pub fn ssubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Shard)
}

/// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
pub fn sunsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Shard)
}

fn publish_generic(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let receivers = ctx.home()?.publish(kind, args.get(1), args.get(2));
    ctx.out.int(receivers);
    Ok(())
}

/// PUBLISH channel message
pub fn publish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    publish_generic(ctx, args, Kind::Channel)
}

/// SPUBLISH shardchannel message
pub fn spublish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    publish_generic(ctx, args, Kind::Shard)
}

fn channels_generic(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let pattern = (args.len() > 2).then(|| args.get(2));
    let list = ctx.shared().pubsub.channels(kind, pattern);
    ctx.out.array_len(list.len());
    for c in list {
        ctx.out.bulk(&c);
    }
    Ok(())
}

fn numsub_generic(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    ctx.out.array_len(args.cursor(2).remaining() * 2);
    for channel in args.cursor(2) {
        let n = ctx.shared().pubsub.count(kind, channel);
        ctx.out.bulk(channel);
        ctx.out.int(n);
    }
    Ok(())
}

/// Redis's error for extra arguments to a PUBSUB subcommand (it names the subcommand as
/// the client typed it).
fn too_many(args: &Args) -> crate::error::CmdError {
    let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    msg.extend_from_slice(args.get(1));
    msg.extend_from_slice(b"'. Try PUBSUB HELP.");
    crate::error::CmdError::Bytes(msg)
}

/// PUBSUB CHANNELS \[pattern\]
pub fn pubsub_channels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(too_many(args));
    }
    channels_generic(ctx, args, Kind::Channel)
}

/// PUBSUB SHARDCHANNELS \[pattern\]
pub fn pubsub_shardchannels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(too_many(args));
    }
    channels_generic(ctx, args, Kind::Shard)
}

/// PUBSUB NUMSUB [channel [channel ...]]
pub fn pubsub_numsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    numsub_generic(ctx, args, Kind::Channel)
}

/// PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]
pub fn pubsub_shardnumsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    numsub_generic(ctx, args, Kind::Shard)
}

/// PUBSUB NUMPAT
pub fn pubsub_numpat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.shared().pubsub.pattern_count();
    ctx.out.int(n as i64);
    Ok(())
}

/// PUBSUB HELP
pub fn pubsub_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    help(
        &mut ctx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
