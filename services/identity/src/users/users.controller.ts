import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, DomainError, Roles, type Principal } from '@lienthong/common';
import { ChangePasswordDto, ConfirmTotpDto, CreateUserDto, ListUsersQuery, UpdateUserDto } from './users.dto';
import { UsersService } from './users.service';

const uuid = new ParseUUIDPipe({ exceptionFactory: () => new DomainError(404, 'USER_NOT_FOUND', 'User not found') });

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
  @Roles('system-admin', 'org-admin')
  list(@CurrentPrincipal() p: Principal, @Query() q: ListUsersQuery) {
    return this.users.list(p, q);
  }

  @Post('me/password')
  @HttpCode(204)
  async changePassword(@CurrentPrincipal() p: Principal, @Body() dto: ChangePasswordDto) {
    await this.users.changePassword(p, dto);
  }

  @Post('me/totp')
  enrolTotp(@CurrentPrincipal() p: Principal) {
    return this.users.enrolTotp(p);
  }

  @Post('me/totp/confirm')
  @HttpCode(200)
  confirmTotp(@CurrentPrincipal() p: Principal, @Body() dto: ConfirmTotpDto) {
    return this.users.confirmTotp(p, dto.otp);
  }

  @Get(':id')
  get(@CurrentPrincipal() p: Principal, @Param('id', uuid) id: string) {
    return this.users.get(p, id);
  }

  @Patch(':id')
  @Roles('system-admin', 'org-admin')
  update(@CurrentPrincipal() p: Principal, @Param('id', uuid) id: string, @Body() dto: UpdateUserDto) {
    return this.users.update(p, id, dto);
  }
}
