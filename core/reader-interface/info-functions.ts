import { fields, type FunctionImpl } from './context.ts';
import { openCard } from './card-access.ts';

/**
 * iGetCardType(pCardType, pOutInfo): pCardType is the card's generation as the major digit
 * of its specification version ("1", "2", "3"); pOutInfo is 规范版本|卡类别|卡识别码|.
 */
export const iGetCardType: FunctionImpl = async (ctx) => {
  const card = await openCard(ctx.reader);
  return {
    pOutInfo: fields([card.version, card.cardType, card.cardId]),
    outputs: { pCardType: String(card.generation) },
  };
};

/**
 * iGetReaderInfo(pReaderSN, pPsamTermNo): the reader's serial (终端设备号) and the PSAM's
 * terminal number (终端机编号), from the settings; no card needed. pOutInfo repeats both as
 * pReaderSN|pPsamTermNo| for transports that return one string.
 */
export const iGetReaderInfo: FunctionImpl = async (ctx) => {
  const { readerSerial, psamTerminalNumber, psamPresent } = ctx.settings;
  const psam = psamPresent ? psamTerminalNumber : '';
  return {
    pOutInfo: fields([readerSerial, psam]),
    outputs: { pReaderSN: readerSerial, pPsamTermNo: psam },
  };
};
