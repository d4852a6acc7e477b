// The benchmark corpus: PAM FR ADT messages as an identity registry sends them (several events,
// Latin-1 accents, escape sequences, the INS in the second PID-3 repetition), each with the values a
// reader must get back, so that correctness is measured beside speed.
import { pamFrAdt } from '../test/fixtures/hl7';

export interface CorpusMessage {
  text: string;
  bytes: Buffer;
  expected: { controlId: string; ins: string; insOid: string; birthName: string; firstName: string; street: string; status: string };
}

const EVENTS = ['A28', 'A31', 'A01', 'A04', 'A08', 'A05', 'A03', 'A40'];
const NAMES = ['MARTIN', 'BÉRANGER', "N'DIAYE", 'LEFÈVRE-DUPRÉ', 'ÇELIK', 'DURAND'];
const FIRST = ['Marie', 'Hélène', 'Jean-François', 'Zoé', 'Loïc', 'Ève'];
const STREETS = ['12 rue de la Paix', 'Bât. A & B', '3 allée des Ormes', 'Résidence "Les Pins" ^ 2', 'Lieu-dit Le Bourg'];

function escapeHl7(s: string): string {
  return s.replace(/\\/g, '\\E\\').replace(/\|/g, '\\F\\').replace(/\^/g, '\\S\\').replace(/&/g, '\\T\\').replace(/~/g, '\\R\\');
}

export function adtCorpus(size = 1000): CorpusMessage[] {
  const out: CorpusMessage[] = [];
  for (let i = 0; i < size; i++) {
    const event = EVENTS[i % EVENTS.length];
    const birthName = NAMES[i % NAMES.length];
    const firstName = FIRST[(i * 7) % FIRST.length];
    const street = STREETS[i % STREETS.length];
    const insOid = i % 5 === 4 ? '1.2.250.1.213.1.4.9' : '1.2.250.1.213.1.4.8';
    const ins = String(180017512345600 + i * 97).padStart(15, '0');
    const status = ['PROV', 'VALI', 'VIDE', 'VALI'][i % 4];
    const controlId = `MSG${String(i).padStart(8, '0')}`;
    let text = pamFrAdt({ event, controlId, birthName, firstName, ins, insOid, status: [status, ...(i % 3 === 0 ? ['HOMD'] : [])] });
    text = text.replace('12 rue de la Paix', escapeHl7(street));
    if (event === 'A40') text += `MRG|${900000 + i}^^^CHU-X&1.2.250.1.999.1.1&ISO^PI\r`;
    if (i % 4 === 1) text += `NTE|1||Commentaire ligne 1\\.br\\ligne 2 \\T\\ suite\r`;
    out.push({ text, bytes: Buffer.from(text, 'latin1'), expected: { controlId, ins, insOid, birthName, firstName, street, status } });
  }
  return out;
}
