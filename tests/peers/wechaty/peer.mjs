#!/usr/bin/env node
// linli's wechaty test peer: a real puppet-service gRPC server (wechaty-puppet-service PuppetServer,
// plain text, token auth) over wechaty-puppet-mock, driven by JSON lines.
//
//   node peer.mjs --port 18788 --token secret [--self-id bot-self] [--self-name 邻里小助手]
//
// stdin, one JSON object per line:
//   {"cmd":"contact","id":"c-wang","name":"王阿姨"}            name may be "" (a contact with no name)
//   {"cmd":"room","id":"r1@chatroom","topic":"3栋","members":["c-wang"]}   room ids must contain "@"
//   {"cmd":"say","from":"c-wang","room":"r1@chatroom","text":"…","mentions":["bot-self"]}
//   {"cmd":"say","from":"c-wang","text":"…"}                  no room: a direct message to the bot
//       optional: "id" (message id, default m-<n>), "type": text|image|sticker|audio|video|file
//   {"cmd":"restart","down_ms":300,"replay":2}   drop every connection, come back on the same port with
//       fresh puppet state, re-deliver the last `replay` messages with their original ids
//   {"cmd":"quit"}
// Messages said while no bot is attached wait and are delivered when it attaches (pitfall 9), in the
// order they were said: until that backlog is out, later messages queue behind it.
//
// stdout, one JSON object per line:
//   {"event":"listening","port":…}  {"event":"attached"}  {"event":"detached"}  {"event":"login","id":…}
//   {"event":"said","id":…,"queued":bool}   {"event":"replayed","ids":[…]}   {"event":"restarted"}
//   {"event":"sent","kind":"text","conversation":…,"text":…,"mentions":[…],"n":…,"t":ms}
//   {"event":"sent","kind":"file","conversation":…,"name":…,"size":…,"n":…}
//   {"event":"error","message":…}
import readline from 'node:readline'
import { PuppetServer } from 'wechaty-puppet-service'
import { PuppetMock, mock } from 'wechaty-puppet-mock'
import * as PUPPET from 'wechaty-puppet'

function arg (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}

const port = Number(arg('port', process.env.PEER_PORT || '0'))
const token = arg('token', process.env.PEER_TOKEN || 'linli-test-token')
const selfId = arg('self-id', 'bot-self')
const selfName = arg('self-name', '邻里小助手')
if (!port) {
  process.stderr.write('peer: --port is required\n')
  process.exit(2)
}

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

const TYPES = {
  text: PUPPET.types.Message.Text,
  image: PUPPET.types.Message.Image,
  sticker: PUPPET.types.Message.Emoticon,
  audio: PUPPET.types.Message.Audio,
  video: PUPPET.types.Message.Video,
  file: PUPPET.types.Message.Attachment,
}

// The world outlives restarts: contacts, rooms and every message delivered so far.
const contacts = new Map([[selfId, selfName]])
const rooms = new Map()
const journal = []
let pending = []
let sentCount = 0
let msgCount = 0

let mocker
let puppet
let server
let attached = false
let flushed = false // the backlog of the current attachment has been delivered
let replayOnAttach = []

function buildWorld () {
  mocker = new mock.Mocker()
  // An environment runs on every puppet start (the client calls stop() then start()): log the bot in.
  mocker.use(m => {
    m.login(m.ContactMock.load(selfId))
    return () => {}
  })
  puppet = new PuppetMock({ mocker })
  for (const [id, name] of contacts) addContact(id, name)
  for (const [id, room] of rooms) addRoom(id, room.topic, room.members)

  const sendText = puppet.messageSendText.bind(puppet)
  puppet.messageSendText = async (conversationId, text, mentionIdList) => {
    sentCount += 1
    emit({
      event: 'sent', kind: 'text', conversation: conversationId, text,
      mentions: mentionIdList || [], n: sentCount, t: Date.now(),
    })
    return sendText(conversationId, text)
  }
  const sendFile = puppet.messageSendFile.bind(puppet)
  puppet.messageSendFile = async (conversationId, fileBox) => {
    sentCount += 1
    let size = -1
    try { size = (await fileBox.toBuffer()).length } catch (e) { size = -1 }
    emit({ event: 'sent', kind: 'file', conversation: conversationId, name: fileBox.name, size, n: sentCount, t: Date.now() })
    return sendFile(conversationId, fileBox)
  }
  puppet.on('login', ({ contactId }) => emit({ event: 'login', id: contactId }))
}

function addContact (id, name) {
  if (!mocker.cacheContactPayload.has(id)) {
    mocker.createContact({ id, name, type: PUPPET.types.Contact.Individual, friend: true })
  }
}

function addRoom (id, topic, members) {
  if (!mocker.cacheRoomPayload.has(id)) {
    mocker.createRoom({ id, topic, memberIdList: [selfId, ...members], ownerId: members[0] || selfId, adminIdList: [] })
  }
}

function deliver (payload) {
  try {
    mocker.MessageMock.load(payload.id)
  } catch (e) {
    mocker.MessageMock.create(payload)
  }
  puppet.emit('message', { messageId: payload.id })
}

function say (cmd) {
  msgCount += 1
  const payload = {
    id: cmd.id || `m-${msgCount}`,
    talkerId: cmd.from,
    timestamp: cmd.timestamp || Date.now(),
    type: TYPES[cmd.type || 'text'],
  }
  if ((cmd.type || 'text') === 'text') payload.text = cmd.text ?? ''
  else if (cmd.text) payload.text = cmd.text
  if (cmd.room) {
    payload.roomId = cmd.room
    payload.mentionIdList = cmd.mentions || []
  } else {
    payload.listenerId = cmd.to || selfId
  }
  journal.push(payload)
  const now = attached && flushed
  if (now) deliver(payload)
  else pending.push(payload)
  emit({ event: 'said', id: payload.id, queued: !now })
}

async function startServer () {
  buildWorld()
  server = new PuppetServer({
    endpoint: `127.0.0.1:${port}`,
    puppet,
    token,
    tls: { disable: true },
  })
  await server.start()
  emit({ event: 'listening', port })
}

// The server attaches the client's event stream by registering puppet listeners; watch for that.
setInterval(() => {
  const now = !!puppet && puppet.listenerCount('message') > 0
  if (now && !attached) {
    attached = true
    flushed = false
    emit({ event: 'attached' })
    // give the client a moment to read the replayed login before the backlog
    setTimeout(() => {
      if (!attached) return
      try {
        const replay = replayOnAttach
        replayOnAttach = []
        for (const p of replay) deliver(p)
        if (replay.length) emit({ event: 'replayed', ids: replay.map(p => p.id) })
        const backlog = pending
        pending = []
        for (const p of backlog) deliver(p)
        flushed = true
      } catch (e) {
        emit({ event: 'error', message: String(e && e.stack || e) })
      }
    }, 50)
  } else if (!now && attached) {
    attached = false
    flushed = false
    emit({ event: 'detached' })
  }
}, 20).unref()

async function restart (cmd) {
  attached = false
  flushed = false
  emit({ event: 'detached' })
  const old = server
  server = undefined
  await old.stop()
  try { await puppet.stop() } catch (e) { /* the mock may already be stopped */ }
  await new Promise(resolve => setTimeout(resolve, cmd.down_ms ?? 300))
  const k = cmd.replay ?? 0
  replayOnAttach = k > 0 ? journal.slice(-k) : []
  await startServer()
  emit({ event: 'restarted' })
}

async function handle (line) {
  const cmd = JSON.parse(line)
  switch (cmd.cmd) {
    case 'contact':
      contacts.set(cmd.id, cmd.name ?? '')
      addContact(cmd.id, cmd.name ?? '')
      emit({ event: 'ok', cmd: 'contact', id: cmd.id })
      break
    case 'room':
      rooms.set(cmd.id, { topic: cmd.topic ?? '', members: cmd.members || [] })
      addRoom(cmd.id, cmd.topic ?? '', cmd.members || [])
      emit({ event: 'ok', cmd: 'room', id: cmd.id })
      break
    case 'say':
      say(cmd)
      break
    case 'restart':
      await restart(cmd)
      break
    case 'quit':
      await server?.stop()
      process.exit(0)
      break
    default:
      throw new Error(`unknown command ${cmd.cmd}`)
  }
}

// Commands run one after another, in the order they were written.
let chain = Promise.resolve()
readline.createInterface({ input: process.stdin }).on('line', line => {
  if (!line.trim()) return
  chain = chain.then(() => handle(line)).catch(e => emit({ event: 'error', message: String(e && e.message || e) }))
}).on('close', () => {
  chain.then(() => server?.stop()).finally(() => process.exit(0))
})

process.on('unhandledRejection', e => emit({ event: 'error', message: String(e && e.message || e) }))

await startServer()
