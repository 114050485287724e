//! The attacks of a hostile room network, as building blocks shared by the end-to-end tests
//! (which show each bound holding) and `attack-bench` (which measures any server binary,
//! before and after a change, with the same code).

use crate::{Server, WAIT};
use futures_util::{SinkExt, StreamExt};
use plansync_shared::automerge::sync::{self, SyncDoc};
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{
    decode_message, encode_message, DocMessage, DocumentId, Ephemeral, Message, PeerId,
    PeerMetadata,
};
use std::io::Write;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

/// A client WebSocket to the server.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An .xlsx workbook whose first sheet is `sheet_xml`, with optional shared strings,
/// deflated at `level` (the library's default if `None`).
pub fn workbook(sheet_xml: &[u8], shared_strings: Option<&str>, level: Option<i64>) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(level);
        let mut part = |name: &str, body: &[u8]| {
            z.start_file(name, opts).expect("a zip part");
            z.write_all(body).expect("a zip part's bytes");
        };
        part("[Content_Types].xml", br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#);
        part("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#);
        part("xl/workbook.xml", br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Tracker" sheetId="1" r:id="rId1"/></sheets></workbook>"#);
        part("xl/_rels/workbook.xml.rels", br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#);
        if let Some(ss) = shared_strings {
            part("xl/sharedStrings.xml", ss.as_bytes());
        }
        part("xl/worksheets/sheet1.xml", sheet_xml);
        z.finish().expect("a workbook");
    }
    out.into_inner()
}

/// A worksheet holding these cells (`<row>` elements).
pub fn sheet(rows: &str) -> Vec<u8> {
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#).into_bytes()
}

/// Two cells, A1 and XFD1048576: a 512 GB range to a reader that materialises it.
pub fn far_cell_workbook() -> Vec<u8> {
    workbook(
        &sheet(
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Action</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
        ),
        None,
        None,
    )
}

/// A workbook whose shared strings declare a hundred billion entries.
pub fn declared_count_workbook() -> Vec<u8> {
    workbook(
        &sheet(r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#),
        Some(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="100000000000"><si><t>Action</t></si></sst>"#,
        ),
        None,
    )
}

/// A zip bomb: a small workbook whose sheet unpacks to `unpacked` bytes.
pub fn zip_bomb(unpacked: usize) -> Vec<u8> {
    let mut xml = sheet("");
    xml.truncate(xml.len() - "</sheetData></worksheet>".len());
    xml.extend(std::iter::repeat_n(b' ', unpacked));
    xml.extend_from_slice(b"</sheetData></worksheet>");
    workbook(&xml, None, Some(9))
}

/// An action tracker CSV of `rows` actions over a few themes, boards and leads.
pub fn tracker_csv(rows: usize) -> String {
    let mut csv = String::from("Theme,Objective,Action,Lead board,Lead,Due,RAG\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Imported theme {},Objective {},Action number {i},Board {},Lead {},30/09/2026,{}\n",
            i % 7,
            i % 40,
            i % 5,
            i % 30,
            ["Red", "Amber", "Green"][i % 3]
        ));
    }
    csv
}

/// A one-column CSV of `rows` rows.
pub fn long_csv(rows: usize) -> String {
    let mut big = String::with_capacity(rows * 24);
    big.push_str("Action\n");
    for i in 0..rows {
        big.push_str(&format!("Row {i} of a huge file\n"));
    }
    big
}

/// Posts a tracker file to the import as the owner: status and body.
pub fn import(
    server: &Server,
    plan: &str,
    format: &str,
    body: &[u8],
    commit: bool,
) -> (u16, String) {
    let r = server.owner_raw(
        "POST",
        &format!("/api/plans/{plan}/import/tracker?format={format}&commit={commit}"),
        &[("Content-Type", "application/octet-stream")],
        body,
    );
    (r.status, r.text())
}

/// The next frame, or the end, within [`WAIT`].
pub async fn recv(ws: &mut Socket) -> Option<Result<Ws, tokio_tungstenite::tungstenite::Error>> {
    tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("a frame or a close in time")
}

/// A `join` frame for `peer`.
pub fn join_frame(peer: &str) -> Vec<u8> {
    encode_message(&Message::Join {
        sender_id: PeerId(peer.into()),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: Some(vec!["1".into()]),
    })
}

/// An ephemeral (presence) frame from `sender` about `doc`, with `bytes` of payload.
pub fn ephemeral(
    sender: &str,
    target: &PeerId,
    doc: DocumentId,
    count: u64,
    session: String,
    bytes: usize,
) -> Vec<u8> {
    encode_message(&Message::Ephemeral(Ephemeral {
        sender_id: PeerId(sender.into()),
        target_id: target.clone(),
        count,
        session_id: session,
        document_id: doc,
        data: vec![0x41; bytes],
    }))
}

/// Opens `/sync`, joins as `peer` and asks for `doc`; returns the socket and the server's
/// peer id.
pub async fn joined(url: &str, peer: &str, doc: Option<DocumentId>) -> (Socket, PeerId) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("a socket");
    ws.send(Ws::Binary(join_frame(peer).into()))
        .await
        .expect("join sent");
    let server = match recv(&mut ws).await {
        Some(Ok(Ws::Binary(b))) => match decode_message(&b, 1 << 20) {
            Ok(Message::Peer { sender_id, .. }) => sender_id,
            other => panic!("expected peer, got {other:?}"),
        },
        other => panic!("expected peer, got {other:?}"),
    };
    if let Some(doc) = doc {
        let mut state = sync::State::new();
        let data = AutoCommit::new()
            .sync()
            .generate_sync_message(&mut state)
            .expect("a first sync message")
            .encode();
        let req = Message::Request(DocMessage {
            sender_id: PeerId(peer.into()),
            target_id: server.clone(),
            document_id: doc,
            data,
        });
        ws.send(Ws::Binary(encode_message(&req).into()))
            .await
            .expect("request sent");
    }
    (ws, server)
}

/// Reads until an `error` message arrives (its text) or the socket closes (`None`).
pub async fn next_error(ws: &mut Socket) -> Option<String> {
    for _ in 0..200 {
        match recv(ws).await {
            Some(Ok(Ws::Binary(b))) => {
                if let Ok(Message::Error { message, .. }) = decode_message(&b, 64 << 20) {
                    return Some(message);
                }
            }
            Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
    None
}

/// Whether the server closes the socket (reading what is buffered first; bounded).
pub async fn closed_by_server(ws: &mut Socket) -> bool {
    for _ in 0..100_000 {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Err(_) => return false,
            Ok(Some(Ok(Ws::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
    false
}

/// A TCP connection to `target` from the loopback address `from` (`127.0.0.2`, say), so the
/// server sees another client address; `None` if it cannot be made within 2 s.
pub async fn connect_from(
    target: std::net::SocketAddr,
    from: &str,
) -> Option<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind(format!("{from}:0").parse().ok()?).ok()?;
    tokio::time::timeout(Duration::from_secs(2), socket.connect(target))
        .await
        .ok()?
        .ok()
}

/// Opens `n` connections to `target` from the loopback address `from`, each sending half a
/// request; returns those that connected.
pub async fn half_open(
    target: std::net::SocketAddr,
    from: &str,
    n: usize,
) -> Vec<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt;
    let mut held = Vec::new();
    for _ in 0..n {
        let Some(mut s) = connect_from(target, from).await else {
            continue;
        };
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
        held.push(s);
    }
    held
}
