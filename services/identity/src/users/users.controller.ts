import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@lienthong/common';
import { ChangePasswordDto, ConfirmTotpDto, CreateUserDto, ListUsersQuery, UpdateUserDto } from './users.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@Controller('api/v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @Roles('system-admin', 'org-admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateUserDto) {
    return this.users.create(p, dto);
  }

  @Get()
  list(@CurrentPrincipal() p: Principal, @Query() q: ListUsersQuery) {
    return this.users.list(p, q);
  }

  @Post('me/password')
  @HttpCode(200)
  async changePassword(@CurrentPrincipal() p: Principal, @Body() dto: ChangePasswordDto) {
    await this.users.changePassword(p, dto);
    return { changed: true };
  }

  /** Starts TOTP enrolment: answers the secret and an otpauth:// URI; confirm with a first code. */
  @Post('me/totp')
  @HttpCode(200)
  enrolTotp(@CurrentPrincipal() p: Principal) {
    return this.users.enrolTotp(p);
  }

  @Post('me/totp/confirm')
  @HttpCode(200)
  confirmTotp(@CurrentPrincipal() p: Principal, @Body() dto: ConfirmTotpDto) {
    return this.users.confirmTotp(p, dto.otp);
  }

  @Get(':id')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.users.get(p, id);
  }

  @Patch(':id')
  @Roles('system-admin', 'org-admin')
  update(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: UpdateUserDto) {
    return this.users.update(p, id, dto);
  }

  /** Not in API.md (an extra endpoint). */
  @Delete(':id')
  @HttpCode(204)
  @Roles('system-admin', 'org-admin')
  async delete(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    await this.users.delete(p, id);
  }
}
